/**
 * A turn of the event loop (`setImmediate`, not a microtask): the store's answers that arrived meanwhile
 * are read and the statements queued behind them sent, so a long in-memory loop over a report's events
 * (deciding a chunk, judging a segment ahead) does not hold up the store's work beside it.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
