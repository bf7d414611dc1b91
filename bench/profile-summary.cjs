// node bench/profile-summary.cjs <before-dir> <before-requests> <after-dir> <after-requests>
// Self CPU time per request, by package or source file, of two profiles from bench/profile-server.sh;
// largest growth first. Start-up is in both profiles; it is the same code loaded, so it mostly cancels.
const fs = require('node:fs')

function load(dir, requests) {
  const file = fs.readdirSync(dir).find((name) => name.endsWith('.cpuprofile'))
  const profile = JSON.parse(fs.readFileSync(`${dir}/${file}`, 'utf8'))
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
  const byPart = new Map()
  profile.samples.forEach((id, index) => {
    const { functionName, url } = nodes.get(id).callFrame
    if (functionName === '(idle)') return
    const dependency = url.match(/node_modules\/((@[^/]+\/)?[^/]+)/)
    const part = dependency
      ? dependency[1]
      : url.includes('/dist/')
        ? `dist/${url.split('/dist/')[1]}`
        : url.startsWith('node:')
          ? url
          : functionName || '(native)'
    byPart.set(part, (byPart.get(part) ?? 0) + (profile.timeDeltas[index] ?? 0) / requests)
  })
  return byPart
}

const [before, beforeRequests, after, afterRequests] = process.argv.slice(2)
const a = load(before, Number(beforeRequests))
const b = load(after, Number(afterRequests))
const sum = (map) => [...map.values()].reduce((x, y) => x + y, 0)
console.log(`µs of CPU per request: ${sum(a).toFixed(1)} -> ${sum(b).toFixed(1)}`)
const parts = [...new Set([...a.keys(), ...b.keys()])]
  .map((part) => [part, a.get(part) ?? 0, b.get(part) ?? 0])
  .sort((x, y) => Math.abs(y[2] - y[1]) - Math.abs(x[2] - x[1]))
for (const [part, x, y] of parts.slice(0, 25)) {
  console.log(
    `${x.toFixed(2).padStart(8)} ${y.toFixed(2).padStart(8)} ${(y - x).toFixed(2).padStart(8)}  ${part}`,
  )
}
