/**
 * The Kairos throughput upper bound of a configuration (design §4.3), compiled into a fast
 * evaluator over count vectors in pool order.
 *
 * Aggregation of several auxiliary types:
 * - `'max'` (prototype): v, s and τ are the maxima over the used auxiliary types and every used type
 *   contributes `all_batch[v]`, even above its own limit (design §4.5: overrates mixes with t3).
 * - `'per-type'` (default): for each candidate threshold v among the used types' limits, only the
 *   types whose limit is ≥ v take the small share (s = P(size ≤ v), τ at v), and the bound is the best
 *   over the candidates. Each candidate is a routing every instance can actually serve, so the
 *   result never exceeds the LP estimate built on the same data (see lp.ts).
 */
import { badField } from '../../model/errors.ts';
import type { ProfileQuantities } from './quantities.ts';

export type Aggregation = 'max' | 'per-type';

/**
 * The closed form of §4.3 for one threshold: `nG` base instances at mixed-stream rate `qG`,
 * auxiliary capacity `C` (QPS) on the small share `s`, whose base busy-time share is `tau`.
 * ℓ is computed as Λ − C (not Λ(1 − s)) so results match the prototype bit for bit.
 */
export function kairosBound(nG: number, qG: number, C: number, s: number, tau: number): number {
  if (!(C > 0) || !(s > 0)) return nG * qG;
  if (s >= 1 || tau >= 1) return C + nG * qG; // no query needs the base type
  const g = (qG * (1 - s)) / (1 - tau);
  const lambda = C / s;
  const large = lambda - C;
  if (large >= nG * g) return (nG * g) / (1 - s);
  const u = large / (nG * g);
  return lambda + nG * qG * (1 - u);
}

/** Evaluator of the bound for counts given in `types` order; `types` must contain the base type. */
export type BoundFn = (counts: ArrayLike<number>) => number;

export function compileBound(
  q: ProfileQuantities,
  types: readonly string[],
  aggregation: Aggregation,
): BoundFn {
  const baseIdx = types.indexOf(q.base);
  if (baseIdx < 0) throw badField('E_NO_BASE_TYPE', 'types', types, `base type ${q.base} is not in the pool`);
  const auxIdx: number[] = [];
  const auxQ: ProfileQuantities['aux'][number][] = [];
  for (const a of q.aux) {
    const i = types.indexOf(a.type);
    if (i >= 0 && a.limit > 0) {
      auxIdx.push(i);
      auxQ.push(a);
    }
  }
  const k = auxIdx.length;
  const limit = Float64Array.from(auxQ, (a) => a.limit);
  const small = Float64Array.from(auxQ, (a) => a.smallRatio);
  const time = Float64Array.from(auxQ, (a) => a.timeRatio);
  // allB[c * k + j] = all_batch of aux c at the limit of aux j (NaN when absent).
  const allB = new Float64Array(k * k);
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < k; j++) allB[c * k + j] = auxQ[c].allBatch[String(limit[j])] ?? NaN;
  }
  const qG = q.baseQps;
  if (aggregation === 'max') {
    return (counts) => {
      const nG = counts[baseIdx];
      let vj = -1;
      let s = 0;
      let tau = 0;
      for (let c = 0; c < k; c++) {
        if (counts[auxIdx[c]] > 0) {
          if (vj < 0 || limit[c] > limit[vj]) vj = c;
          if (small[c] > s) s = small[c];
          if (time[c] > tau) tau = time[c];
        }
      }
      if (vj < 0) return nG * qG;
      let C = 0;
      for (let c = 0; c < k; c++) {
        const n = counts[auxIdx[c]];
        if (n > 0) {
          const r = allB[c * k + vj];
          if (Number.isNaN(r)) {
            throw badField(
              'E_PROFILE_INVALID',
              `${auxQ[c].type}.all_batch`,
              limit[vj],
              'has no entry for this threshold',
            );
          }
          C += n * r;
        }
      }
      return kairosBound(nG, qG, C, s, tau);
    };
  }
  const by = q.byLimit;
  if (!by)
    throw badField('E_INVALID_OPTION', 'aggregation', aggregation, 'needs quantities computed from samples');
  const sAt = Float64Array.from(auxQ, (a) => by[String(a.limit)].smallRatio);
  const tAt = Float64Array.from(auxQ, (a) => by[String(a.limit)].timeRatio);
  return (counts) => {
    const nG = counts[baseIdx];
    let best = nG * qG;
    for (let j = 0; j < k; j++) {
      if (counts[auxIdx[j]] === 0) continue;
      const v = limit[j];
      let C = 0;
      for (let c = 0; c < k; c++) {
        const n = counts[auxIdx[c]];
        if (n > 0 && limit[c] >= v) C += n * allB[c * k + j];
      }
      const ub = kairosBound(nG, qG, C, sAt[j], tAt[j]);
      if (ub > best) best = ub;
    }
    return best;
  };
}
