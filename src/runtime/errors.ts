/** An error meant for the user: printed as one line, exit status 1. */
export class BuncError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = "BuncError";
  }
}
