//! How a model lives on disk: `config.json`, `generator.safetensors`, `critic.safetensors`,
//! `spectral.json` (the critic's power-iteration vectors), optionally `MODEL_CARD.md`. Every
//! file is written to a temporary name and renamed, so a crash never leaves half a model.

use crate::error::Error;
use crate::model::{Critic, GanConfig, Generator, SpectralState};
use burn::prelude::*;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use std::path::{Path, PathBuf};

pub const CONFIG: &str = "config.json";
pub const GENERATOR: &str = "generator.safetensors";
pub const CRITIC: &str = "critic.safetensors";
pub const SPECTRAL: &str = "spectral.json";
pub const CARD: &str = "MODEL_CARD.md";

/// Write `bytes` to `path` atomically (temporary file in the same folder, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

fn checkpoint_error(path: &Path, reason: impl ToString) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn module_bytes<M: Module>(module: &M, path: &Path) -> Result<Vec<u8>, Error> {
    let mut store = SafetensorsStore::from_bytes(None);
    module
        .save_into(&mut store)
        .map_err(|e| checkpoint_error(path, e))?;
    store.get_bytes().map_err(|e| checkpoint_error(path, e))
}

/// Save the parts of a model that generation needs.
pub fn save_model(
    dir: &Path,
    config: &GanConfig,
    generator: &Generator,
    critic: &Critic,
    spectral: &SpectralState,
) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let json = serde_json::to_vec_pretty(config).expect("config serializes");
    write_atomic(&dir.join(CONFIG), &json)?;
    write_atomic(
        &dir.join(GENERATOR),
        &module_bytes(generator, &dir.join(GENERATOR))?,
    )?;
    write_atomic(&dir.join(CRITIC), &module_bytes(critic, &dir.join(CRITIC))?)?;
    let json = serde_json::to_vec(spectral).expect("state serializes");
    write_atomic(&dir.join(SPECTRAL), &json)
}

pub fn read_config(dir: &Path) -> Result<GanConfig, Error> {
    let path = dir.join(CONFIG);
    let text = std::fs::read(&path).map_err(|e| Error::UnknownModel {
        path: dir.to_path_buf(),
        reason: format!("cannot read {CONFIG}: {e}"),
    })?;
    serde_json::from_slice(&text).map_err(|e| Error::UnknownModel {
        path: dir.to_path_buf(),
        reason: format!("{CONFIG} is not a model config: {e}"),
    })
}

fn load_module<M: Module + ModuleSnapshot>(module: M, path: &Path) -> Result<M, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::UnknownModel {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut module = module;
    let mut store = SafetensorsStore::from_bytes(Some(bytes));
    let result = module
        .load_from(&mut store)
        .map_err(|e| checkpoint_error(path, e))?;
    if !result.errors.is_empty() || !result.missing.is_empty() {
        return Err(checkpoint_error(
            path,
            format!(
                "weights do not fit config.json (missing {:?}, errors {:?})",
                result.missing, result.errors
            ),
        ));
    }
    Ok(module)
}

/// Load a model folder onto `device`.
pub fn load_model(
    dir: &Path,
    device: &Device,
) -> Result<(GanConfig, Generator, Critic, SpectralState), Error> {
    let config = read_config(dir)?;
    let (generator, critic) = config.init(0, device);
    let generator = load_module(generator, &dir.join(GENERATOR))?;
    let critic = load_module(critic, &dir.join(CRITIC))?;
    let path = dir.join(SPECTRAL);
    let text = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let spectral: SpectralState =
        serde_json::from_slice(&text).map_err(|e| checkpoint_error(&path, e))?;
    Ok((config, generator, critic, spectral))
}

/// A short, stable identifier of a model's exact weights (FNV-1a 64 over config and tensors).
pub fn model_hash(dir: &Path) -> Result<String, Error> {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for name in [CONFIG, GENERATOR, CRITIC, SPECTRAL] {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).map_err(|e| Error::UnknownModel {
            path: dir.to_path_buf(),
            reason: format!("cannot read {name}: {e}"),
        })?;
        // The safetensors header lists tensors in no stable order; hash the tensor data.
        let body = match name.ends_with(".safetensors") && bytes.len() >= 8 {
            true => {
                let header = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
                bytes.get(8 + header..).unwrap_or(&bytes[..]).to_vec()
            }
            false => bytes,
        };
        for b in body {
            hash ^= b as u64;
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    Ok(format!("{hash:016x}"))
}

/// Every folder under `dir` that holds a `config.json`.
pub fn model_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join(CONFIG).is_file())
        .collect();
    out.sort();
    out
}
