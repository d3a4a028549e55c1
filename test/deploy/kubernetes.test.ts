import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { Deployment as DeploymentModel } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { parseConfigText } from '../../src/config/load.js';
import { compileConfig } from '../../src/config/compile.js';

const dir = fileURLToPath(new URL('../../../deploy/kubernetes/', import.meta.url));

type Doc = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [k: string]: unknown };
const docs = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => parse(readFileSync(join(dir, f), 'utf8')) as Doc);
const byKind = (kind: string): Doc => {
  const d = docs.find((x) => x.kind === kind);
  assert.ok(d, `no ${kind} manifest`);
  return d;
};

interface Deployment {
  spec: {
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        terminationGracePeriodSeconds: number;
        containers: { args: string[]; readinessProbe: { httpGet: { path: string } }; livenessProbe: { httpGet: { path: string } }; envFrom: { secretRef: { name: string } }[] }[];
        volumes: { name: string; configMap?: { name: string } }[];
      };
    };
  };
}

test('the manifests are a Deployment, Service, HPA, PodDisruptionBudget, ConfigMap and Secret', () => {
  assert.deepEqual(docs.map((d) => d.kind).sort(), ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Secret', 'Service']);
});

/** Validators from the Kubernetes OpenAPI schemas (kubernetes-models), by apiVersion and kind. */
const models: Record<string, (doc: Doc) => { validate(): void }> = {
  'v1/ConfigMap': (d) => new ConfigMap(d as ConstructorParameters<typeof ConfigMap>[0]),
  'v1/Secret': (d) => new Secret(d as ConstructorParameters<typeof Secret>[0]),
  'v1/Service': (d) => new Service(d as ConstructorParameters<typeof Service>[0]),
  'apps/v1/Deployment': (d) => new DeploymentModel(d as ConstructorParameters<typeof DeploymentModel>[0]),
  'autoscaling/v2/HorizontalPodAutoscaler': (d) => new HorizontalPodAutoscaler(d as ConstructorParameters<typeof HorizontalPodAutoscaler>[0]),
  'policy/v1/PodDisruptionBudget': (d) => new PodDisruptionBudget(d as ConstructorParameters<typeof PodDisruptionBudget>[0]),
};

test('every manifest validates against the Kubernetes schema of its apiVersion and kind', () => {
  for (const doc of docs) {
    const model = models[`${doc.apiVersion}/${doc.kind}`];
    assert.ok(model, `no schema for ${doc.apiVersion} ${doc.kind}`);
    assert.doesNotThrow(() => model(doc).validate(), `${doc.kind} ${doc.metadata.name}`);
  }
});

test('the schema check catches a broken manifest (a port as text, a missing selector)', () => {
  const deployment = structuredClone(byKind('Deployment')) as unknown as Deployment & Doc;
  const containers = deployment.spec.template.spec.containers as unknown as { ports?: { containerPort: unknown }[] }[];
  containers[0]!.ports = [{ containerPort: 'http' }];
  assert.throws(() => models['apps/v1/Deployment']!(deployment).validate(), /containerPort must be integer/);
  const hpa = structuredClone(byKind('HorizontalPodAutoscaler')) as Doc & { spec: Record<string, unknown> };
  delete hpa.spec.scaleTargetRef;
  assert.throws(() => models['autoscaling/v2/HorizontalPodAutoscaler']!(hpa).validate(), /scaleTargetRef/);
});

test('the ConfigMap holds a config that Sluice accepts, reading every secret from the Secret', () => {
  const config = (byKind('ConfigMap') as unknown as { data: Record<string, string> }).data['sluice.yaml']!;
  const secret = (byKind('Secret') as unknown as { stringData: Record<string, string> }).stringData;
  const referenced = [...config.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]!);
  for (const name of referenced) assert.ok(name in secret, `the config reads \${${name}}, which the Secret does not hold`);
  const env = Object.fromEntries(referenced.map((n) => [n, n.endsWith('REDIS_URL') ? 'redis://redis:6379' : n.endsWith('DATABASE_URL') ? 'postgres://u:p@postgres:5432/sluice' : `value-of-${n}`]));
  const compiled = compileConfig(parseConfigText(config, 'configmap', env), 'configmap');
  assert.equal(compiled.server.host, '0.0.0.0');
});

test('the Deployment probes /ready and /health, drains within its grace period, and mounts what it names', () => {
  const d = byKind('Deployment') as unknown as Deployment;
  const pod = d.spec.template.spec;
  const c = pod.containers[0]!;
  assert.equal(c.readinessProbe.httpGet.path, '/ready');
  assert.equal(c.livenessProbe.httpGet.path, '/health');
  const config = parse((byKind('ConfigMap') as unknown as { data: Record<string, string> }).data['sluice.yaml']!) as { server: { drainTimeout: string } };
  assert.ok(pod.terminationGracePeriodSeconds > Number.parseInt(config.server.drainTimeout, 10), 'the grace period outlasts server.drainTimeout');
  assert.deepEqual(d.spec.selector.matchLabels, d.spec.template.metadata.labels);
  assert.equal(c.envFrom[0]!.secretRef.name, byKind('Secret').metadata.name);
  assert.ok(pod.volumes.some((v) => v.configMap?.name === byKind('ConfigMap').metadata.name));
  assert.deepEqual(c.args.slice(0, 1), ['start']);
});

test('the Service, HPA and PodDisruptionBudget point at the Deployment; the HPA scales at 70 % CPU', () => {
  const labels = (byKind('Deployment') as unknown as Deployment).spec.template.metadata.labels;
  const svc = byKind('Service') as unknown as { spec: { selector: Record<string, string> } };
  assert.deepEqual(svc.spec.selector, labels);
  const pdb = byKind('PodDisruptionBudget') as unknown as { spec: { selector: { matchLabels: Record<string, string> } } };
  assert.deepEqual(pdb.spec.selector.matchLabels, labels);
  const hpa = byKind('HorizontalPodAutoscaler') as unknown as { spec: { scaleTargetRef: { kind: string; name: string }; metrics: { resource: { name: string; target: { averageUtilization: number } } }[] } };
  assert.deepEqual(hpa.spec.scaleTargetRef.kind, 'Deployment');
  assert.equal(hpa.spec.scaleTargetRef.name, byKind('Deployment').metadata.name);
  assert.equal(hpa.spec.metrics[0]!.resource.name, 'cpu');
  assert.equal(hpa.spec.metrics[0]!.resource.target.averageUtilization, 70);
});
