/**
 * HiGHS (`highs`, WebAssembly; a dev dependency) solving the LP of src/plan/cluster/lp.ts as one
 * LP over every x[t,b]: the oracle the cutting-plane estimator is compared with. Same model the
 * planner solved with HiGHS before: one equality per size with mass, one busy-time row per type.
 */
import highsLoader from 'highs';
import type { LpData } from '../../../src/plan/cluster/lp.ts';

type Loader = (typeof highsLoader)['default'];
type Highs = Awaited<ReturnType<Loader>>;
let highsPromise: Promise<Highs> | undefined;

export function loadHighs(): Promise<Highs> {
  // The package's typings are CommonJS-flavoured (the loader is `.default`), while its ESM build
  // default-exports the loader itself: accept both.
  const mod = highsLoader as unknown as Loader | { default: Loader };
  highsPromise ??= (typeof mod === 'function' ? mod : mod.default)();
  return highsPromise;
}

/** λ of the LP for one configuration, by HiGHS' simplex. */
export function highsLpQps(highs: Highs, data: LpData, counts: ArrayLike<number>): number {
  const T = data.types.length;
  const n = data.mass.length;
  const sizeRow = new Int32Array(n).fill(-1);
  let rows = 0;
  for (let i = 0; i < n; i++) if (data.mass[i] > 0) sizeRow[i] = rows++;
  const numRows = rows + T;
  const starts: number[] = [0];
  const indices: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    if (sizeRow[i] < 0) continue;
    indices.push(sizeRow[i]);
    values.push(-data.mass[i]);
  }
  starts.push(indices.length);
  let numCols = 1;
  for (let t = 0; t < T; t++) {
    for (let i = 0; i <= data.limitIndex[t]; i++) {
      if (sizeRow[i] < 0) continue;
      indices.push(sizeRow[i], rows + t);
      values.push(1, data.latencyMs[t][i] / 1000);
      starts.push(indices.length);
      numCols++;
    }
  }
  const inf = highs.infinity;
  const model = highs.createModel({
    numCols,
    numRows,
    sense: highs.constants.objectiveSense.maximize,
    colCost: Array.from({ length: numCols }, (_, c) => (c === 0 ? 1 : 0)),
    colLower: new Array<number>(numCols).fill(0),
    colUpper: new Array<number>(numCols).fill(inf),
    rowLower: [...new Array<number>(rows).fill(0), ...new Array<number>(T).fill(-inf)],
    rowUpper: [
      ...new Array<number>(rows).fill(0),
      ...Array.from({ length: T }, (_, t) => (counts[t] > 0 ? counts[t] : 0)),
    ],
    matrix: { format: 'csc', numRows, numCols, starts, indices, values },
  });
  try {
    model.options.set({ output_flag: false, presolve: 'off', solver: 'simplex' });
    model.run();
    const status = model.getModelStatus();
    if (status !== highs.constants.modelStatus.optimal) throw new Error(`HiGHS model status ${status}`);
    return model.getObjectiveValue();
  } finally {
    model.dispose();
  }
}
