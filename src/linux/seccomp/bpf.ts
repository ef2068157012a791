// A tiny classic-BPF assembler with forward labels. Conditional jumps reach only 255
// instructions, so a jump whose target is farther gets a BPF_JA (32-bit offset) trampoline
// right after it; layout is repeated until no more jumps need one.

export interface BpfInstruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export const BPF = {
  LD_W_ABS: 0x20, // A = seccomp_data[k] (32 bit)
  ALU_AND_K: 0x54, // A &= k
  JA: 0x05,
  JEQ_K: 0x15,
  JGT_K: 0x25,
  JGE_K: 0x35,
  RET_K: 0x06,
} as const;

/** The kernel's BPF_MAXINSNS. */
export const BPF_MAXINSNS = 4096;

export interface Label {
  pos: number;
}

type Item =
  | { op: "stmt"; code: number; k: number }
  | { op: "jmp"; code: number; k: number; t: Label; f: Label; farT: boolean; farF: boolean }
  | { op: "ja"; to: Label }
  | { op: "label"; label: Label };

export class Assembler {
  private items: Item[] = [];

  label(): Label {
    return { pos: -1 };
  }
  place(label: Label): void {
    this.items.push({ op: "label", label });
  }
  stmt(code: number, k: number): void {
    this.items.push({ op: "stmt", code, k: k >>> 0 });
  }
  jmp(code: number, k: number, t: Label, f: Label): void {
    this.items.push({ op: "jmp", code, k: k >>> 0, t, f, farT: false, farF: false });
  }
  ja(to: Label): void {
    this.items.push({ op: "ja", to });
  }

  assemble(): BpfInstruction[] {
    for (;;) {
      let pos = 0;
      for (const it of this.items) {
        if (it.op === "label") it.label.pos = pos;
        else pos += it.op === "jmp" ? 1 + +it.farT + +it.farF : 1;
      }
      let changed = false;
      pos = 0;
      for (const it of this.items) {
        if (it.op === "label") continue;
        if (it.op === "jmp") {
          if (!it.farT && it.t.pos - pos - 1 > 255) it.farT = changed = true;
          if (!it.farF && it.f.pos - pos - 1 > 255) it.farF = changed = true;
          pos += 1 + +it.farT + +it.farF;
        } else pos++;
      }
      if (!changed) break;
    }
    const out: BpfInstruction[] = [];
    const offset = (target: Label, from: number) => {
      const d = target.pos - from - 1;
      if (target.pos < 0 || d < 0) throw new Error("bpf: label not placed or jump backwards");
      return d;
    };
    for (const it of this.items) {
      if (it.op === "stmt") out.push({ code: it.code, jt: 0, jf: 0, k: it.k });
      else if (it.op === "ja") out.push({ code: BPF.JA, jt: 0, jf: 0, k: offset(it.to, out.length) });
      else if (it.op === "jmp") {
        const at = out.length;
        const jt = it.farT ? 0 : offset(it.t, at);
        const jf = it.farF ? +it.farT : offset(it.f, at);
        out.push({ code: it.code, jt, jf, k: it.k });
        if (it.farT) out.push({ code: BPF.JA, jt: 0, jf: 0, k: offset(it.t, out.length) });
        if (it.farF) out.push({ code: BPF.JA, jt: 0, jf: 0, k: offset(it.f, out.length) });
      }
    }
    return out;
  }
}
