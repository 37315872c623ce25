/**
 * The Angular UI's stand-in, the same page the Django upstream serves: it says who Paperless
 * thinks you are, opens /ws/status/ with the page's cookies (Paperless sends nothing on
 * connect, only status updates), uploads with fetch sending the csrftoken cookie back as
 * X-CSRFToken, and signs out through /accounts/logout/.
 */
export function uiPage(user: { username: string; is_superuser: boolean; is_staff: boolean }, groups: string[], permissions: string[], path: string, csrfCookie: string): string {
  const script = `
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/status/');
    ws.onopen = () => { document.getElementById('ws').textContent = 'connected'; };
    ws.onclose = () => { document.getElementById('ws').textContent = 'closed'; };
    ws.onmessage = (event) => {
      const data = JSON.parse(event.data).data;
      document.getElementById('status').textContent = data.status + (data.document_id ? ' document ' + data.document_id : '');
    };
    document.getElementById('upload').addEventListener('click', async () => {
      const csrf = document.cookie.split('; ').find((c) => c.startsWith(${JSON.stringify(`${csrfCookie}=`)}))?.split('=')[1] ?? '';
      const body = new FormData();
      body.append('document', document.getElementById('file').files[0]);
      const res = await fetch('/api/documents/post_document/', { method: 'POST', body, headers: { 'X-CSRFToken': csrf } });
      document.getElementById('upload-result').textContent = res.status + ' ' + (await res.text());
    });`;
  const yesNo = (b: boolean) => (b ? 'yes' : 'no');
  return `<!doctype html><html lang="en"><head><title>Paperless-ngx</title></head><body>
<h1>Paperless-ngx (simulator)</h1><dl>
<dt>User</dt><dd id="user">${escapeHtml(user.username)}</dd>
<dt>Superuser</dt><dd id="superuser">${yesNo(user.is_superuser)}</dd><dt>Staff (Admin)</dt><dd id="staff">${yesNo(user.is_staff)}</dd>
<dt>Groups</dt><dd id="groups">${escapeHtml(groups.join(', ') || 'none')}</dd>
<dt>Permissions</dt><dd id="permissions">${escapeHtml(permissions.join(' ') || 'none')}</dd>
<dt>Path</dt><dd id="path">${escapeHtml(path)}</dd><dt>Status websocket</dt><dd id="ws">connecting</dd>
<dt>Last status message</dt><dd id="status">none</dd></dl>
<input id="file" type="file" aria-label="Document"><button id="upload" type="button">Upload</button><p id="upload-result"></p>
<a id="logout" href="/accounts/logout/">Logout</a>
<script>${script}</script></body></html>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
