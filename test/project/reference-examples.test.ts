/**
 * Every example of docs/reference/*.md works as printed, checked as the README's are
 * (test/project/readme-examples.test.ts):
 * - a block with `hetserve …` commands (or `$ `-prompted shell lines) runs in a scratch folder with
 *   the checkout's data/ and examples/ linked in, one shell per page, commands in page order; file
 *   names a command reads that no earlier command of the page writes are made from bundled
 *   examples first. Each command exits 0, and where the page shows output (`$ cmd` then lines)
 *   its first line's words appear, in order, in what the command printed.
 * - a block marked `<!-- example: output -->` (right above its fence) is the output of the page's
 *   previous command (`<!-- example: output of <text> -->`: of the last one containing the text):
 *   its first line's shape is checked against what that command printed.
 * - ```yaml blocks go through the gateway's config parser (a fragment on top of the bundled
 *   examples/serverless-replay.yaml); ```json blocks with `inputs` through the OIP request
 *   decoder, against the first model of the page's last config block.
 * - a block that cannot run is marked `<!-- example: not run: <why> -->`; the marked blocks are
 *   counted and listed, and any other block the test cannot check fails it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseServeConfig, type ServeConfig } from '../../src/model/serve-config.ts';
import { decodeInferRequest } from '../../src/serve/tensors.ts';
import { BIN, ROOT } from '../helpers/cli.ts';

export interface DocBlock {
  /** The fence's info string ('' when none). */
  lang: string;
  lines: string[];
  /** 1-based line of the opening fence. */
  line: number;
  /** `output`: shows what the page's previous command (or the last one containing `of`) printed. */
  marker?: { kind: 'output'; of?: string } | { kind: 'not-run'; why: string };
}

export interface ShellCommand {
  /** As run: `hetserve …` (npx and `$ ` dropped, continuations joined, trailing comment dropped). */
  command: string;
  /** Lines shown right after a `$ `-prompted command. */
  output: string[];
  line: number;
}

const MARKER = /^\s*<!--\s*example:\s*(output(?: of (.+?))?|not run:\s*(.*?))\s*-->\s*$/;

/** Fenced blocks of a Markdown page, each with the example marker right above it, if any. */
export function parseBlocks(markdown: string): DocBlock[] {
  const lines = markdown.split('\n');
  const out: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^\s*```\s*(\S*)/.exec(lines[i]);
    if (!open) continue;
    let j = i - 1;
    while (j >= 0 && lines[j].trim() === '') j--;
    const m = j >= 0 ? MARKER.exec(lines[j]) : null;
    const block: DocBlock = { lang: open[1], lines: [], line: i + 1 };
    if (m)
      block.marker = m[1].startsWith('output')
        ? { kind: 'output', ...(m[2] ? { of: m[2] } : {}) }
        : { kind: 'not-run', why: m[3] || '' };
    for (i++; i < lines.length && !/^\s*```/.test(lines[i]); i++) block.lines.push(lines[i]);
    out.push(block);
  }
  return out;
}

/** `hetserve` commands and `$ `-prompted shell lines of a block, with the output shown after them. */
export function extractShell(lines: readonly string[], firstLine = 1): ShellCommand[] {
  const out: ShellCommand[] = [];
  let current: ShellCommand | undefined;
  let prompted = false;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const m = /^\s*(\$ )?(?:npx )?(hetserve .*)$/.exec(raw) ?? /^\s*(\$ )(.*)$/.exec(raw);
    if (m) {
      let cmd = m[2];
      const at = i;
      while (cmd.endsWith('\\') && i + 1 < lines.length)
        cmd = cmd.slice(0, -1).trimEnd() + ' ' + lines[++i].trim();
      cmd = cmd.replace(/\s+#.*$/, '').trim();
      current = { command: cmd, output: [], line: firstLine + at };
      prompted = m[1] !== undefined;
      out.push(current);
    } else if (current && prompted && raw.trim() !== '') current.output.push(raw);
    else if (raw.trim() !== '' && !/^\s*#/.test(raw)) current = undefined;
  }
  return out;
}

/** The shape of a shown line, not its numbers: its words (digits aside) in order. */
export function shapeMatches(shown: string, printed: string): boolean {
  const words = shown
    .trim()
    .split(/\s+/)
    .filter((w) => /^[A-Za-z][A-Za-z_/()%-]*$/.test(w));
  const re = new RegExp(words.map((w) => w.replace(/[()%/-]/g, '\\$&')).join('[\\s\\S]*?'));
  return words.length === 0 || re.test(printed);
}

/** Files a page's commands read that nothing earlier writes: how to make them. */
const PLACEHOLDERS: Record<string, { copy: string } | { run: string }> = {
  'apps.json': { copy: 'data/examples/readme-apps.json' },
  'mlp.onnx': { run: 'hetserve profile synth mlp --out mlp.onnx' },
};

const PAGES = readdirSync(join(ROOT, 'docs/reference'))
  .filter((f) => f.endsWith('.md'))
  .sort()
  .map((f) => ({ name: f, blocks: parseBlocks(readFileSync(join(ROOT, 'docs/reference', f), 'utf8')) }));

const BASE = parseYaml(readFileSync(join(ROOT, 'examples/serverless-replay.yaml'), 'utf8')) as Record<
  string,
  unknown
>;

const asShell = (cmd: string): string => cmd.replace(/^hetserve /, `"${process.execPath}" "${BIN}" `);

test('reference examples: blocks, markers, commands and output shapes are read as printed', () => {
  const md = [
    '<!-- example: not run: needs a cluster -->',
    '',
    '```sh',
    '$ npx hetserve plan --model X \\',
    '    --app a:1:2   # comment',
    'GROUP  APPS',
    '$ grep -c x plan.json',
    '3',
    '```',
    '<!-- example: output of plan -->',
    '```',
    'total 3',
    '```',
    '```yaml',
    'a: 1',
    '```',
  ].join('\n');
  const b = parseBlocks(md);
  assert.deepEqual(
    b.map((x) => [x.lang, x.line, x.marker]),
    [
      ['sh', 3, { kind: 'not-run', why: 'needs a cluster' }],
      ['', 11, { kind: 'output', of: 'plan' }],
      ['yaml', 14, undefined],
    ],
  );
  assert.deepEqual(
    extractShell(b[0].lines, 4).map((c) => [c.command, c.output, c.line]),
    [
      ['hetserve plan --model X --app a:1:2', ['GROUP  APPS'], 4],
      ['grep -c x plan.json', ['3'], 7],
    ],
  );
  assert.equal(shapeMatches('group  apps 12 ms', 'x\ngroup 0 apps 3 ms'), true);
  assert.equal(shapeMatches('group  apps', 'apps group'), false);
  assert.ok(PAGES.length >= 10, `pages: ${PAGES.length}`);
});

test('reference examples: every config block parses with the gateway config parser, every request block with the request decoder', () => {
  const failures: string[] = [];
  let checked = 0;
  for (const page of PAGES) {
    // Config blocks first: a request block names a model of the page's config wherever it is.
    let config: ServeConfig | undefined;
    const ordered = [...page.blocks].sort((x, y) => Number(x.lang === 'json') - Number(y.lang === 'json'));
    for (const b of ordered) {
      if (b.marker?.kind === 'not-run') continue;
      const where = `${page.name}:${b.line}`;
      try {
        if (b.lang === 'yaml') {
          const doc = parseYaml(b.lines.join('\n')) as Record<string, unknown>;
          // A fragment (limits:, serving:, calibration:) sits on top of a bundled example config.
          const parsed = parseServeConfig('models' in doc ? doc : { ...BASE, ...doc }, where);
          if ('models' in doc || !config) config = parsed;
          checked++;
        } else if (b.lang === 'json') {
          const body = JSON.parse(b.lines.join('\n')) as unknown;
          assert.ok(config, 'no config block on the page names the model');
          const m = config.models[0];
          assert.ok(m.inputs, `the page's config gives model ${m.name} no inputs`);
          decodeInferRequest(
            body,
            { name: m.name, platform: 'doc', inputs: m.inputs, outputs: m.outputs ?? [] },
            config.limits.maxSamplesPerRequest,
          );
          checked++;
        }
      } catch (e) {
        failures.push(`${where}: ${(e as Error).message}`);
      }
    }
  }
  assert.deepEqual(failures, []);
  assert.ok(checked >= 4, `config and request blocks checked: ${checked}`);
});

test(
  'reference examples: every command runs as printed and prints the shape shown',
  { timeout: 1_200_000 },
  () => {
    const failures: string[] = [];
    const notRun: string[] = [];
    let ran = 0;
    for (const page of PAGES) {
      const steps: { cmd: ShellCommand; showsAfter?: string[] }[] = [];
      for (const b of page.blocks) {
        const where = `${page.name}:${b.line}`;
        if (b.marker?.kind === 'not-run') {
          if (b.marker.why === '') failures.push(`${where}: a block marked not run must say why`);
          notRun.push(`${where}: ${b.marker.why}`);
          continue;
        }
        if (b.marker?.kind === 'output') {
          const of = b.marker.of;
          const last = steps.findLast((x) => of === undefined || x.cmd.command.includes(of));
          if (last) last.showsAfter = b.lines;
          else
            failures.push(
              `${where}: an output block with no command${of ? ` containing "${of}"` : ''} before it`,
            );
          continue;
        }
        if (b.lang === 'yaml' || b.lang === 'json') continue; // the config/request test's
        const cmds = extractShell(b.lines, b.line + 1);
        if (cmds.length === 0) {
          failures.push(
            `${where}: a ${b.lang || 'plain'} block with no command; mark it <!-- example: … -->`,
          );
          continue;
        }
        for (const c of cmds) steps.push({ cmd: c });
      }
      if (steps.length === 0) continue;
      const dir = mkdtempSync(join(tmpdir(), 'hetserve-refdoc-'));
      try {
        for (const d of ['data', 'examples']) symlinkSync(join(ROOT, d), join(dir, d));
        // Placeholders a command reads before anything on the page writes them.
        const written = new Set<string>();
        const prelude: string[] = [];
        for (const { cmd } of steps) {
          for (const [name, how] of Object.entries(PLACEHOLDERS)) {
            const reads = new RegExp(`(^|\\s)${name.replace('.', '\\.')}(\\s|$)`).test(cmd.command);
            if (!reads || written.has(name) || existsSync(join(dir, name))) continue;
            if ('copy' in how) copyFileSync(join(ROOT, how.copy), join(dir, name));
            else prelude.push(asShell(how.run));
            written.add(name);
          }
          for (const m of cmd.command.matchAll(/(?:--out|>)\s*(\S+)/g)) written.add(m[1]);
        }
        // One shell per page: each command's output and exit status into files of its own.
        const script = [
          ...prelude.map((p) => `${p} >/dev/null || exit 97`),
          ...steps.map(({ cmd }, i) => `( ${asShell(cmd.command)} ) > .o${i} 2> .e${i}; echo $? > .rc${i}`),
        ].join('\n');
        const r = spawnSync('sh', ['-c', script], {
          cwd: dir,
          encoding: 'utf8',
          timeout: 900_000,
          env: { ...process.env, HETSERVE_DEBUG: '' },
        });
        if (r.status === 97) {
          failures.push(`${page.name}: making a placeholder failed: ${r.stderr.slice(0, 300)}`);
          continue;
        }
        steps.forEach(({ cmd, showsAfter }, i) => {
          const where = `${page.name}:${cmd.line}: \`${cmd.command}\``;
          const read = (f: string): string =>
            existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : '';
          const rc = read(`.rc${i}`).trim();
          const stdout = read(`.o${i}`);
          ran++;
          if (rc !== '0') {
            failures.push(
              `${where} exit ${rc || 'none'}: ${(read(`.e${i}`) || stdout).trim().slice(0, 300)}`,
            );
            return;
          }
          // What the terminal shows: progress lines may go to stderr.
          const printed = stdout + read(`.e${i}`);
          for (const shown of [cmd.output, showsAfter ?? []]) {
            const first = shown.find((l) => l.trim() !== '');
            if (first && !shapeMatches(first, printed))
              failures.push(`${where} printed no line like ${JSON.stringify(first.trim())}`);
          }
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    console.log(`ran ${ran} commands; ${notRun.length} blocks marked not run:\n  ${notRun.join('\n  ')}`);
    assert.deepEqual(failures, []);
    assert.ok(ran >= 10, `commands run: ${ran}`);
  },
);
