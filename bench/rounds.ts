/** Rounds of measurements over several servers, and the table of their medians and ratios. */

/** Named figures of one measurement, e.g. `{ chatRps: 1200, chatCpuUs: 310 }`. */
export type Figures = Record<string, number>

/**
 * A discarded warm-up per name first (each process starts cold, and the first measured would pay its
 * JIT), then `rounds` rounds, each rotating the order so no name always goes first. Logs each measurement.
 */
export async function measureRounds(
  names: string[],
  rounds: number,
  measure: (name: string) => Promise<Figures>,
): Promise<Record<string, Figures[]>> {
  const samples: Record<string, Figures[]> = Object.fromEntries(names.map((name) => [name, []]))
  for (const name of names) await measure(name)
  for (let round = 0; round < rounds; round++) {
    const order = [...names.slice(round % names.length), ...names.slice(0, round % names.length)]
    for (const name of order) {
      const figures = await measure(name)
      samples[name]?.push(figures)
      const rounded = JSON.stringify(figures, (_key, value) =>
        typeof value === 'number' ? Number(value.toFixed(3)) : value,
      )
      console.log(`round ${round + 1}/${rounds} ${name}: ${rounded}`)
    }
  }
  return samples
}

/** One row of the table: a figure's key, its label, and how its value is written. */
export type FigureRow = [figure: string, label: string, format: (value: number) => string]

/**
 * A Markdown table: per figure, each name's median over rounds, then for each [name, reference] pair
 * the median of the per-round ratios name / reference (pairs naming a name not measured are left out).
 */
export function comparisonTable(
  samples: Record<string, Figures[]>,
  figures: FigureRow[],
  comparisons: readonly (readonly [string, string])[],
): string {
  const names = Object.keys(samples)
  const pairs = comparisons.filter(([name, reference]) => names.includes(name) && names.includes(reference))
  const middle = (values: number[]) =>
    values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN
  const median = (name: string, figure: string) =>
    middle((samples[name] ?? []).map((measured) => measured[figure] ?? Number.NaN))
  const ratio = (name: string, reference: string, figure: string) =>
    middle(
      (samples[name] ?? []).map(
        (measured, round) =>
          (measured[figure] ?? Number.NaN) / (samples[reference]?.[round]?.[figure] ?? Number.NaN),
      ),
    )
  const rows = figures.map(([figure, label, format]) => [
    label,
    ...names.map((name) => format(median(name, figure))),
    ...pairs.map(([name, reference]) => `${ratio(name, reference, figure).toFixed(3)}x`),
  ])
  return [
    `| figure | ${names.join(' | ')} | ${pairs.map(([name, reference]) => `${name} / ${reference}`).join(' | ')} |`,
    `|---|${names.map(() => '---|').join('')}${pairs.map(() => '---|').join('')}`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n')
}
