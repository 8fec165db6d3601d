// The chat page of ./hv httpd: the browser's WebSocket against /ws/chat, no libraries.
// The server sends one JSON object per message: welcome (to us), join, leave, message.
// chat.html?name=NICK joins at once as NICK.
'use strict';

const $ = (id) => document.getElementById(id);
let ws = null;
let myName = null;

function chatUrl(name) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws/chat` + (name ? `?name=${encodeURIComponent(name)}` : '');
}

function setState(state, text) {
  document.body.dataset.state = state;
  $('status').textContent = text;
  const open = state === 'open';
  $('text').disabled = !open;
  $('send-button').disabled = !open;
  $('leave').disabled = !(open || state === 'connecting');
  if (open) $('text').focus();
}

function log(kind, who, text) {
  const li = document.createElement('li');
  li.className = kind;
  if (who) {
    const b = document.createElement('b');
    b.textContent = who;
    li.append(b, ' ');
  }
  li.append(text); // text, never HTML: what others type cannot run here
  $('log').append(li);
  li.scrollIntoView({ block: 'nearest' });
}

function join(name) {
  if (ws) ws.close(1000);
  setState('connecting', 'connecting...');
  const socket = new WebSocket(chatUrl(name));
  ws = socket;
  socket.onopen = () => setState('open', 'connected');
  socket.onmessage = (event) => {
    let m;
    try {
      m = JSON.parse(event.data);
    } catch (e) {
      log('notice', '', String(event.data));
      return;
    }
    switch (m.type) {
      case 'welcome':
        myName = m.name;
        setState('open', `connected as ${m.name}`);
        log('notice', '', `You joined as ${m.name} (${m.online} online).`);
        break;
      case 'join':
        log('notice', '', `${m.name} joined (${m.online} online).`);
        break;
      case 'leave':
        log('notice', '', `${m.name} left (${m.online} online).`);
        break;
      case 'message':
        log(m.name === myName ? 'message mine' : 'message', `${m.name}:`, m.text);
        break;
      default:
        log('notice', '', event.data);
    }
  };
  socket.onclose = (event) => {
    if (ws !== socket) return; // an older socket we replaced
    ws = null;
    setState('closed', 'not connected');
    log('notice', '', `Disconnected (code ${event.code}${event.reason ? ': ' + event.reason : ''}).`);
  };
  socket.onerror = () => log('notice', '', 'WebSocket error (is hv httpd still running?)');
}

$('join').addEventListener('submit', (event) => {
  event.preventDefault();
  join($('name').value.trim());
});

$('leave').addEventListener('click', () => {
  if (ws) ws.close(1000, 'bye');
});

$('send').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = $('text').value;
  if (!text || !ws || ws.readyState !== WebSocket.OPEN) return;
  ws.send(text);
  $('text').value = '';
});

const asked = new URLSearchParams(location.search).get('name');
if (asked !== null) {
  $('name').value = asked;
  join(asked);
}
