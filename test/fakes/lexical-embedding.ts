/**
 * A deterministic stand-in for an embedding model (no model can be downloaded here): words and
 * character trigrams hashed into a fixed number of signed buckets, L2-normalised. Texts sharing words
 * or word pieces point in similar directions, which is enough to exercise vector search and fusion.
 */
export function lexicalEmbedding(text: string, dimensions: number): Float32Array {
  const vector = new Float32Array(dimensions)
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []
  const features: string[] = []
  for (const word of words) {
    features.push(`w:${word}`)
    const padded = ` ${word} `
    for (let index = 0; index + 3 <= padded.length; index++)
      features.push(`t:${padded.slice(index, index + 3)}`)
  }
  for (const feature of features) {
    const hash = fnv1a(feature)
    const bucket = hash % dimensions
    vector[bucket] = (vector[bucket] ?? 0) + ((hash >>> 31) & 1 ? -1 : 1) * (feature.startsWith('w:') ? 2 : 1)
  }
  const norm = Math.hypot(...vector) || 1
  return vector.map((value) => value / norm)
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash
}
