// The science platform's storage notice (issue 21): a JupyterLab notification, through JupyterLab's
// own notification API (the apputils:notify / apputils:update-notification commands), when the
// user's home is near or over its storage quota. It shows the whole (short) message, offers "Open
// storage page" (the hub's page with the details), and shows again when the level changes (near ->
// over). It does not ride on JupyterLab's update check, so "Ignore all updates" cannot silence it.
// The figures come from this server's extension (sciplat_storage_notice, GET <base>/sciplat/storage-notice),
// which asks the hub with the server's own token. Plain JavaScript: no import, nothing to bundle.

const PLUGIN_ID = 'sciplat-storage-notice:plugin';
const OPEN_COMMAND = 'sciplat-storage-notice:open-storage-page';
const CHECK_COMMAND = 'sciplat-storage-notice:check';
const RETRY_SECONDS = 300;

const plugin = {
  id: PLUGIN_ID,
  description: 'Storage quota notification with a link to the hub storage page.',
  autoStart: true,
  activate: app => {
    const settings = app.serviceManager.serverSettings;
    let shown = null; // {id, level, message} of the notification on screen
    let storageUrl = '';
    let timer = null;

    app.commands.addCommand(OPEN_COMMAND, {
      label: 'Open storage page',
      caption: 'Your usage, quota, largest folders and growth, on the hub',
      execute: () => {
        if (storageUrl) {
          window.open(storageUrl, '_blank', 'noopener');
        }
      }
    });
    app.commands.addCommand(CHECK_COMMAND, {
      label: 'Check storage quota now',
      execute: () => check()
    });

    const schedule = seconds => {
      clearTimeout(timer);
      timer = setTimeout(check, Math.max(5, seconds) * 1000);
    };

    async function fetchNotice() {
      const url = settings.baseUrl.replace(/\/?$/, '/') + 'sciplat/storage-notice';
      const headers = { Accept: 'application/json' };
      if (settings.token) {
        headers.Authorization = 'token ' + settings.token;
      }
      const response = await fetch(url, { credentials: 'same-origin', headers });
      if (!response.ok) {
        throw new Error('storage notice: HTTP ' + response.status);
      }
      return response.json();
    }

    async function check() {
      let notice;
      try {
        notice = await fetchNotice();
      } catch (error) {
        console.debug('storage notice: nothing to show', error);
        schedule(RETRY_SECONDS);
        return;
      }
      storageUrl = notice.storage_url || storageUrl;
      const level = notice.level;
      const message = notice.notice || '';
      if ((level === 'warn' || level === 'over') && message) {
        const type = level === 'over' ? 'error' : 'warning';
        if (!shown || shown.level !== level) {
          // New, or the level changed: a new notification, even if the last one was dismissed.
          if (shown) {
            await app.commands.execute('apputils:dismiss-notification', { id: shown.id });
          }
          const id = await app.commands.execute('apputils:notify', {
            message,
            type,
            options: {
              autoClose: false,
              actions: [
                {
                  label: 'Open storage page',
                  caption: 'Your usage, quota, largest folders and growth, on the hub',
                  commandId: OPEN_COMMAND,
                  displayType: 'accent'
                }
              ]
            }
          });
          shown = { id, level, message };
        } else if (shown.message !== message) {
          // Same level, new figures: update in place, without showing a dismissed one again.
          await app.commands.execute('apputils:update-notification', {
            id: shown.id,
            message,
            type,
            autoClose: false,
            actions: [
              { label: 'Open storage page', commandId: OPEN_COMMAND, displayType: 'accent' }
            ]
          });
          shown.message = message;
        }
      } else if (shown && level === 'ok') {
        await app.commands.execute('apputils:dismiss-notification', { id: shown.id });
        shown = null;
      }
      schedule(notice.check_every_seconds || RETRY_SECONDS);
    }

    app.restored.then(() => check());
  }
};

export default plugin;
