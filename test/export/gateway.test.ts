/** The gateway exporter (the hetserve gateway on Kubernetes): Kubernetes manifests, checked as such by the suite. */
import { gatewayExporter } from '../../src/export/gateway.ts';
import { runExporterConformance } from './exporter.case.ts';

runExporterConformance('gateway', gatewayExporter);
