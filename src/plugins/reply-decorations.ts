import type { FastifyInstance, FastifyReply } from 'fastify'

/** Something every reply gets just before its headers leave, such as a header computed at send time. */
export type ReplyDecoration = (reply: FastifyReply) => void

export interface ReplyDecorations {
  /** Adds a decoration every later reply gets. */
  add(decoration: ReplyDecoration): void
  /** Applies every decoration to `reply`. */
  apply(reply: FastifyReply): void
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * What every reply gets before its headers leave. An `onSend` hook applies them to ordinary replies;
     * a stream writes its own headers (streaming/stream-body.ts) and applies them itself, so streams and
     * other replies carry the same headers.
     */
    replyDecorations: ReplyDecorations
  }
}

export function registerReplyDecorations(app: FastifyInstance) {
  const decorations: ReplyDecoration[] = []
  const replyDecorations: ReplyDecorations = {
    add: (decoration) => decorations.push(decoration),
    apply(reply) {
      for (const decoration of decorations) decoration(reply)
    },
  }
  app.decorate('replyDecorations', replyDecorations)
  app.addHook('onSend', (_request, reply, payload, done) => {
    replyDecorations.apply(reply)
    done(null, payload)
  })
}
