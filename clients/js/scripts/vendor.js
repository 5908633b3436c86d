// Copy what the hub's pages load into hub/web/static/vendor/ (run by
// `npm run vendor`, from scripts/setup.sh). The pages must work without
// internet, so everything they import is served by the hub itself.
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = path.resolve(here, '..');
const target = path.resolve(pkg, '../../hub/web/static/vendor');
const modules = path.join(pkg, 'node_modules');

await rm(target, { recursive: true, force: true });
await mkdir(target, { recursive: true });
// Built files, not sources: keep them out of git.
await writeFile(path.join(target, '.gitignore'), '*\n');

await cp(path.join(pkg, 'src'), path.join(target, 'homi'), { recursive: true });
await cp(path.join(modules, '@msgpack/msgpack/dist.esm'), path.join(target, 'msgpack'), {
  recursive: true, filter: (source) => !source.endsWith('.map') && !source.endsWith('.d.ts'),
});
for (const file of ['leaflet-src.esm.js', 'leaflet.css', 'images']) {
  await cp(path.join(modules, 'leaflet/dist', file), path.join(target, 'leaflet', file),
    { recursive: true });
}
console.log(`vendored the client, msgpack and Leaflet into ${path.relative(process.cwd(), target)}`);
