// Random hex for ids and temporary names. Web Crypto's getRandomValues is a global: loading
// node:crypto for randomBytes costs a few ms of every command that imports it.
export function randomHex(bytes: number): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  let s = "";
  for (const b of buf) s += b.toString(16).padStart(2, "0");
  return s;
}
