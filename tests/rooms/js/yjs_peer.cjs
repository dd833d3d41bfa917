// A stock Yjs client (y-websocket's WebsocketProvider) joining a room of a file session.
// Usage: node yjs_peer.cjs <baseUrl> <sessionId> <user> <write|read>
// Writer: appends " from yjs", sets a cursor claiming another name, waits for the Python
// client's " from python" and presence, prints {text, peers}.
// Reader: tries to append " reader edit", waits for our control message and the Python
// client's " after", prints {text, control}.
const Y = require('yjs')
const { WebsocketProvider } = require('y-websocket')
const WebSocket = require('ws')
const decoding = require('lib0/decoding')

const [baseUrl, room, user, role] = process.argv.slice(2)
const doc = new Y.Doc()
const provider = new WebsocketProvider(baseUrl, room, doc, {
  WebSocketPolyfill: WebSocket,
  params: { user, role, kind: 'file' }
})
const text = doc.getText('source')
const control = []
provider.messageHandlers[10] = (encoder, decoder) => {
  control.push(JSON.parse(decoding.readVarString(decoder)))
  check()
}

const peers = () => Array.from(provider.awareness.getStates().entries())
  .filter(([id]) => id !== doc.clientID).map(([, state]) => state)

function finish (result) {
  process.stdout.write(JSON.stringify(result) + '\n')
  provider.destroy()
  setTimeout(() => process.exit(0), 100)
}

function check () {
  const value = text.toString()
  if (role === 'write' && value.includes(' from python') &&
      peers().some(s => s.user && s.user.username === 'py')) {
    finish({ text: value, peers: peers() })
  }
  if (role === 'read' && value.includes(' after') && control.length > 0) {
    finish({ text: value, control })
  }
}

provider.on('sync', synced => {
  if (!synced) return
  provider.awareness.setLocalState({ user: { username: 'impostor', color: '#00ff00' }, cursor: 1 })
  text.insert(text.length, role === 'write' ? ' from yjs' : ' reader edit')
  check()
})
text.observe(check)
provider.awareness.on('change', check)
setTimeout(() => { process.stderr.write('timed out\n'); process.exit(2) }, 20000)
