// aupdesk console and portal behaviour: keyboard navigation of tables, select-all for bulk actions and
// confirmation of forms that interrupt a customer's service. Everything works without it; it only adds.
(() => {
  // Forms marked data-confirm ask before they submit (suspension, termination). The server also
  // requires the form's own confirmation checkbox, so this is a second guard, not the only one.
  document.addEventListener('submit', (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    const submitter = event.submitter;
    const question = submitter?.getAttribute('data-confirm') || form.getAttribute('data-confirm');
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // Select-all checkbox of the queue's bulk actions.
  for (const all of document.querySelectorAll('input[data-select-all]')) {
    all.addEventListener('change', () => {
      const name = all.getAttribute('data-select-all');
      for (const box of document.querySelectorAll(`input[type=checkbox][name="${name}"]`)) {
        box.checked = all.checked;
      }
    });
  }

  // Keyboard navigation of tables marked data-kbd-nav: j/k or arrows move, Enter or o opens,
  // x toggles the row's checkbox, / focuses the search field, g returns to the first row.
  const table = document.querySelector('table[data-kbd-nav]');
  const rows = table ? Array.from(table.querySelectorAll('tbody tr')) : [];
  let current = -1;
  const move = (to) => {
    if (rows.length === 0) return;
    if (current >= 0) rows[current].classList.remove('kbd-current');
    current = Math.max(0, Math.min(rows.length - 1, to));
    const row = rows[current];
    row.classList.add('kbd-current');
    row.scrollIntoView({ block: 'nearest' });
    const link = row.querySelector('a[data-open]');
    if (link) link.focus({ preventScroll: true });
  };
  document.addEventListener('keydown', (event) => {
    const target = event.target;
    const typing =
      target instanceof HTMLElement &&
      (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) &&
      !(target instanceof HTMLInputElement && target.type === 'checkbox');
    if (typing || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === '/') {
      const search = document.querySelector('input[type=search]');
      if (search) {
        event.preventDefault();
        search.focus();
      }
      return;
    }
    if (rows.length === 0) return;
    if (event.key === 'j' || event.key === 'ArrowDown') {
      event.preventDefault();
      move(current + 1);
    } else if (event.key === 'k' || event.key === 'ArrowUp') {
      event.preventDefault();
      move(current - 1);
    } else if (event.key === 'g') {
      move(0);
    } else if ((event.key === 'o' || event.key === 'Enter') && current >= 0) {
      const link = rows[current].querySelector('a[data-open]');
      if (link && event.key === 'o') link.click();
    } else if (event.key === 'x' && current >= 0) {
      const box = rows[current].querySelector('input[type=checkbox]');
      if (box) box.checked = !box.checked;
    }
  });
})();
