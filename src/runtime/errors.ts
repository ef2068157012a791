/** Control characters escaped and length bounded: messages quote config values. */
export function oneLine(s: string, max = 400): string {
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** An error meant for the user: printed as one line, exit status 1. */
export class BuncError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(oneLine(message, 600));
    this.name = "BuncError";
  }
}
