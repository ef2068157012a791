import { BuncError } from "../sys/errors";

export class UnpackError extends BuncError {
  override name = "UnpackError";
}
