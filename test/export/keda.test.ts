/** The keda exporter (KEDA ScaledObjects for a cluster allocation): Kubernetes manifests, checked as such by the suite. */
import { kedaExporter } from '../../src/export/keda.ts';
import { runExporterConformance } from './exporter.case.ts';

runExporterConformance('keda', kedaExporter);
