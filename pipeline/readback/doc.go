// Package readback is the gate a run's requests pass right before they
// leave (run --backup, run --mode insert, run --skip-unchanged; and the
// preview of validate --online, which sends nothing): it reads each user's
// conversations back (search_contact_group, on the read API's own quota)
// and decides, item by item, whether the item may be sent.
//
// One read serves every rule that needs the server's marks:
//
//   - --mode insert holds back an item whose conversation already holds
//     marks that the item would change: its rows are reported exists.
//   - --backup writes, before an item leaves, the restore row that puts
//     back what the item changes (package backup), and the gate returns
//     only once the row is durable, so that no request leaves without the
//     row of its conversation.
//   - With --backup, an item that would change nothing on the server is
//     held and reported unchanged: sending it would change nothing, and
//     holding it keeps "every request has its row" true.
//   - --skip-unchanged holds such items for that reason alone.
//   - A preview (validate --online) holds every item: those that would
//     change nothing, and those that would, with the marks before and
//     after.
//
// A read that fails holds every item of its user unsent: a conversation
// is never changed without its backup, nor without knowing whether it
// held marks. With the skip alone, the items are sent as without it; in a
// preview they are reported unread.
//
// Gate implements pipeline.Gate; the pipeline calls it user by user and
// sends what it admits. The package imports pipeline/mark (the domain) and
// pipeline/backup (the backup's files), never pipeline itself.
package readback
