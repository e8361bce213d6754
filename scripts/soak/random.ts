/**
 * A small seeded PRNG (mulberry32) for the soak: the same seed plays the same workload and the
 * same fault draws, so a run that found something can be replayed (`--seed`).
 */
export type Random = () => number;

export const seededRandom = (seed: number): Random => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/** An integer in [0, n). */
export const pick = (random: Random, n: number): number => Math.floor(random() * n);
