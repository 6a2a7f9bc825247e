/** The knative exporter (Knative Services): Kubernetes manifests, checked as such by the suite. */
import { knativeExporter } from '../../src/export/knative.ts';
import { runExporterConformance } from './exporter.case.ts';

runExporterConformance('knative', knativeExporter);
