// What the component imports from WASI, granting nothing: no environment,
// no input, output that goes nowhere but the console. The component only
// touches these to report a panic (Rust's std writes it to stderr), never
// to render or analyse, so a dump cannot reach anything through them. It
// is the JS counterpart of the exporter's empty WASI context, and the same
// file serves Node, a page and a Worker (preview2-shim needs a bundler or
// an import map, and import maps do not reach module Workers).

/** Raised for the calls a component with no capabilities must not make. */
class Denied extends Error {
  constructor(what) {
    super(`${what}: not granted to the parser component`);
    this.name = 'Denied';
  }
}

export class Pollable {
  /** Output is never blocked, so there is nothing to wait for. */
  block() {}
  ready() {
    return true;
  }
}

export class Error$ {
  toDebugString() {
    return 'no I/O is granted to the parser component';
  }
}

export class InputStream {
  read() {
    throw new Denied('reading stdin');
  }
  blockingRead() {
    throw new Denied('reading stdin');
  }
  subscribe() {
    return new Pollable();
  }
}

/** A stream whose lines are handed to `sink` (the console). */
export class OutputStream {
  #pending = '';
  #decoder = new TextDecoder();
  #sink;
  constructor(sink) {
    this.#sink = sink;
  }
  checkWrite() {
    return 65536n;
  }
  write(bytes) {
    this.#pending += this.#decoder.decode(bytes, { stream: true });
    const end = this.#pending.lastIndexOf('\n');
    if (end >= 0) {
      this.#sink(this.#pending.slice(0, end));
      this.#pending = this.#pending.slice(end + 1);
    }
  }
  blockingWriteAndFlush(bytes) {
    this.write(bytes);
    this.blockingFlush();
  }
  flush() {
    this.blockingFlush();
  }
  blockingFlush() {
    if (this.#pending !== '') {
      this.#sink(this.#pending);
      this.#pending = '';
    }
  }
  subscribe() {
    return new Pollable();
  }
}

const stdoutStream = new OutputStream((text) => console.log(`[parser component] ${text}`));
const stderrStream = new OutputStream((text) => console.error(`[parser component] ${text}`));
const stdinStream = new InputStream();

export const environment = {
  getEnvironment: () => [],
  getArguments: () => [],
  initialCwd: () => undefined,
};
export const exit = {
  exit: (status) => {
    throw new Denied(`exit (${status.tag ?? 'status'})`);
  },
};
export const stdin = { getStdin: () => stdinStream };
export const stdout = { getStdout: () => stdoutStream };
export const stderr = { getStderr: () => stderrStream };
export class TerminalInput {}
export class TerminalOutput {}
export const terminalInput = { TerminalInput };
export const terminalOutput = { TerminalOutput };
// None of the standard streams is a terminal.
export const terminalStdin = { getTerminalStdin: () => undefined };
export const terminalStdout = { getTerminalStdout: () => undefined };
export const terminalStderr = { getTerminalStderr: () => undefined };
export const error = { Error: Error$ };
export const poll = { Pollable, poll: () => new Uint32Array([0]) };
export const streams = { InputStream, OutputStream };
