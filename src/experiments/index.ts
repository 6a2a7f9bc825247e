/** The paper reproductions (HarmonyBatch, Kairos) and their report rendering, built on the simulator. */
export { reproduceHarmonyBatch, type HbOptions } from './reproduce-harmonybatch.ts';
export { reproduceKairos, type KairosReproOptions } from './reproduce-kairos.ts';
