// Web MIDI input: lists the connected keyboards in a picker, forwards note-on/off from the chosen
// one (or all), and says plainly when the browser has no Web MIDI or the permission is refused.

export class MidiInput {
  constructor({ select, status, onNoteOn, onNoteOff }) {
    this.select = select;
    this.status = status;
    this.onNoteOn = onNoteOn;
    this.onNoteOff = onNoteOff;
    this.access = null;
    this.select.addEventListener('change', () => this.#attach());
  }

  async connect() {
    if (!navigator.requestMIDIAccess) {
      this.#say(
        'This browser has no Web MIDI, so a MIDI keyboard cannot be used here. Chrome, Edge and Opera support it; the on-screen piano and your computer keys work everywhere.',
        'warn',
      );
      this.#unavailable();
      return;
    }
    try {
      this.access = await navigator.requestMIDIAccess({ sysex: false });
    } catch {
      this.#say(
        'The browser did not allow MIDI access. Allow it in the site settings (the icon left of the address) and reload, or use the on-screen piano.',
        'warn',
      );
      this.#unavailable();
      return;
    }
    this.access.onstatechange = () => this.#list();
    this.#list();
  }

  #unavailable() {
    this.select.textContent = '';
    this.select.append(new Option('Not available', ''));
    this.select.disabled = true;
  }

  #say(text, kind = '') {
    this.status.textContent = text;
    this.status.dataset.kind = kind;
  }

  #list() {
    const previous = this.select.value;
    const inputs = [...this.access.inputs.values()];
    this.select.textContent = '';
    if (!inputs.length) {
      this.select.append(new Option('No MIDI keyboard found', ''));
      this.select.disabled = true;
      this.#say('Connect a MIDI keyboard (USB or Bluetooth); it will appear here.');
      this.#attach();
      return;
    }
    this.select.disabled = false;
    this.select.append(new Option('All MIDI inputs', '*'));
    for (const input of inputs) this.select.append(new Option(input.name || 'MIDI input', input.id));
    const fallback = inputs.length === 1 ? inputs[0].id : '*';
    this.select.value = [...this.select.options].some((o) => o.value === previous && previous) ? previous : fallback;
    this.#attach();
  }

  #attach() {
    if (!this.access) return;
    const chosen = this.select.value;
    let count = 0;
    for (const input of this.access.inputs.values()) {
      const on = chosen === '*' || chosen === input.id;
      input.onmidimessage = on ? (msg) => this.#message(msg.data) : null;
      if (on) count++;
    }
    if (count) this.#say(`Listening to ${count === 1 ? this.select.selectedOptions[0]?.text : `${count} MIDI inputs`}.`, 'ok');
  }

  #message(data) {
    const [status, pitch, velocity] = data;
    const kind = status & 0xf0;
    if (kind === 0x90 && velocity > 0) this.onNoteOn(pitch, velocity);
    else if (kind === 0x80 || (kind === 0x90 && velocity === 0)) this.onNoteOff(pitch);
  }
}
