/**
 * Work that records in `order` when it starts and ends, and ends only when `open` is called: how tests
 * of queues and schedulers see what runs at once. It resolves with its name.
 */
export function gatedWork(name: string, order: string[]) {
  let open!: () => void
  const gate = new Promise<void>((resolve) => {
    open = resolve
  })
  const work = async () => {
    order.push(`${name} starts`)
    await gate
    order.push(`${name} ends`)
    return name
  }
  return { work, open }
}
