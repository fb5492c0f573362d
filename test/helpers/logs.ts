// A JSON logger for tests that read what the code under test logged.
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../controller/logger.js';

/** A debug-level JSON logger and the lines it has written so far, parsed. */
export function capturingLogger<Line = Record<string, unknown>>(): { log: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Line);
      done();
    },
  });
  return { log: createLogger('debug', 'json', stream), lines };
}
