/** The kserve exporter (KServe InferenceServices): Kubernetes manifests, checked as such by the suite. */
import { kserveExporter } from '../../src/export/kserve.ts';
import { runExporterConformance } from './exporter.case.ts';

runExporterConformance('kserve', kserveExporter);
