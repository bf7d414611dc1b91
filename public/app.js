// The chat page: sends the prompt to the chosen route and shows the answer as it streams.
import {
  ApiError,
  endOf,
  failureOf,
  postJson,
  streamNdjson,
  streamSse,
  streamWithEventSource,
} from './api.js'

const $ = (id) => document.getElementById(id)
const form = $('ask')
const answer = $('answer')
const status = $('status')
const sources = $('sources')
const sendButton = $('send')
const stopButton = $('stop')
let running

function say(text, kind = 'info') {
  status.textContent = text
  status.className = kind
}

/** One frame of /stream or /rag (and the same frames through EventSource). */
function showFrame(frame) {
  if (frame.sources) showSources(frame.sources)
  if (frame.content) answer.textContent += frame.content
  const failure = failureOf(frame)
  if (failure) say(failure, 'error')
  else if (frame.done) say(endOf(frame))
}

/** The passages /rag cites, numbered as the answer's [n]; a web source is a link. */
function showSources(list) {
  sources.replaceChildren(
    ...list.map((source) => {
      const item = document.createElement('li')
      item.id = `source-${source.n}`
      item.value = source.n
      const title = document.createElement(/^https?:\/\//.test(source.source ?? '') ? 'a' : 'strong')
      if (title.tagName === 'A') title.href = source.source
      title.textContent = source.title || source.source || source.document_id
      const snippet = document.createElement('p')
      snippet.textContent = source.snippet
      item.append(title, ` (score ${source.score.toFixed(2)})`, snippet)
      return item
    }),
  )
  $('sources-section').hidden = list.length === 0
}

/** /search's passages, shown as sources numbered in order. */
function showResults(results) {
  showSources(
    results.map((result, index) => ({
      n: index + 1,
      title: result.document.title,
      source: result.document.source,
      document_id: result.document.id,
      score: result.score,
      snippet: result.text.length > 300 ? `${result.text.slice(0, 300)}…` : result.text,
    })),
  )
  const count = results.length
  say(count ? `${count} passage${count === 1 ? '' : 's'} found.` : 'Nothing relevant was found.')
}

/** Turns the answer's [n] into links to the numbered sources, once the answer is complete. */
function linkCitations() {
  const text = answer.textContent
  if (!/\[\d+\]/.test(text)) return
  answer.replaceChildren(
    ...text.split(/(\[\d+\])/).map((part) => {
      const target = /^\[(\d+)\]$/.exec(part) && $(`source-${part.slice(1, -1)}`)
      if (!target) return part
      const link = document.createElement('a')
      link.href = `#${target.id}`
      link.textContent = part
      return link
    }),
  )
}

function ask(route, prompt, model, options) {
  const withModel = (body) => (model ? { ...body, model } : body)
  if (route === '/stream' && $('event-source').checked) {
    return streamWithEventSource(withModel({ prompt }), { ...options, onFrame: showFrame })
  }
  if (route === '/stream') return streamSse(route, withModel({ prompt }), { ...options, onFrame: showFrame })
  if (route === '/rag') {
    return streamSse(route, withModel({ query: prompt, stream: true }), { ...options, onFrame: showFrame })
  }
  if (route === '/search')
    return postJson(route, { query: prompt }, options).then((body) => showResults(body.results))
  return streamNdjson(route, withModel({ prompt }), {
    ...options,
    onLine: (line) => {
      if (line.response) answer.textContent += line.response
      if (line.error) say(`The answer was cut short: ${line.error}.`, 'error')
      else if (line.done) say('Done.')
    },
  })
}

function describe(error) {
  if (error instanceof ApiError) return error.message
  if (error?.name === 'AbortError') return 'Stopped.'
  if (error instanceof TypeError) return 'The server could not be reached.'
  return 'The server sent something this page cannot read.'
}

async function send(event) {
  event.preventDefault()
  const prompt = $('prompt').value.trim()
  if (!prompt) {
    say('Write a prompt first.', 'error')
    $('prompt').focus()
    return
  }
  running?.abort()
  const controller = new AbortController()
  running = controller
  answer.replaceChildren()
  sources.replaceChildren()
  $('sources-section').hidden = true
  answer.setAttribute('aria-busy', 'true')
  sendButton.disabled = true
  stopButton.disabled = false
  say('Waiting for the answer…')
  const route = form.elements.route.value
  const options = {
    apiKey: $('api-key').value.trim(),
    signal: controller.signal,
    onRestart: () => answer.replaceChildren(),
  }
  try {
    await ask(route, prompt, $('model').value.trim(), options)
  } catch (error) {
    say(describe(error), error?.name === 'AbortError' ? 'info' : 'error')
  } finally {
    if (running === controller) {
      running = undefined
      answer.setAttribute('aria-busy', 'false')
      sendButton.disabled = false
      const hadFocus = document.activeElement === stopButton
      stopButton.disabled = true
      // A disabled button loses the focus to the page: keep the keyboard user where they were.
      if (hadFocus) sendButton.focus()
      linkCitations()
    }
  }
}

form.addEventListener('submit', send)
stopButton.addEventListener('click', () => running?.abort())
$('prompt').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) form.requestSubmit()
})
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && running) running.abort()
})
// The EventSource choice concerns /stream only.
const showTransport = () => {
  $('transport-choice').hidden = form.elements.route.value !== '/stream'
}
form.addEventListener('change', showTransport)
showTransport()
