// mulberry32: a small seeded generator of uniform numbers in [0, 1), the same on every machine.
// The `en` pilot sample's document order and the GloVe start's rows for tokens GloVe lacks both
// come from it, so models/en/README.md's commands rebuild the shipped model's inputs exactly.
export function seededUniform(seed) {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
