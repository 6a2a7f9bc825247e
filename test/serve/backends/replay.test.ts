/** The replay backend: the conformance suite. */
import { ReplayBackend } from '../../../src/serve/backends/index.ts';
import { ECHO, runBackendConformance } from './backend.case.ts';

runBackendConformance(
  'replay',
  async () =>
    new ReplayBackend({ type: 'replay', latency: 1, failRate: 0 }, { id: 'r', model: ECHO, baseDir: '.' }),
  0,
);
