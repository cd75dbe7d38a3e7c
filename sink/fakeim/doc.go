// Package fakeim emulates the Tencent Cloud IM REST APIs that markimport
// uses: v4/recentcontact/mark_contact and, for read-back, search_contact_group
// and get_contact_group.
//
// It is the project's stand-in for the real service in every test,
// benchmark and rehearsal (`markimport run --fake`, `markimport fake-server`),
// so it is deliberately strict: whatever the real service would refuse, or
// might refuse, it refuses with the real error code, so that client bugs
// surface here rather than in a customer's migration. Like
// net/http/httptest it is a plain http.Handler:
//
//	srv := fakeim.New(fakeim.Config{SDKAppID: 1400000000, Admins: []string{"admin"}})
//	ts := httptest.NewServer(srv)
//	defer ts.Close()
//	// point the client at ts.URL, run it, then inspect srv.Conversations("user0")
//	// and srv.Stats().
//
// Of the project it imports only sink/usersig, to verify usersigs: never
// sink itself. Its wire types are written apart from the client's on
// purpose, so that a mistake shared by both cannot hide.
//
// # What it checks
//
// Every request passes, in order: the per-API rate limit (60007); the URL
// (60002, 60012, 70020); the usersig (70003, 70009, 70013, 70014, 70001,
// verified with package usersig when Config.SecretKey is set); the admin
// list (50003); then the API's body rules. The codes and the situations they
// answer are listed in codes.go.
//
// The rate limit (200 calls per API over a sliding second) counts a request
// at the time the kernel received it (Linux; arrival.go), not when its
// handler ran. Identifiers holding control characters (C0, DEL, C1) are
// refused with 50002, as the importer's validation refuses them.
//
// mark_contact follows the API's public documentation: one
// From_Account, 1-100 items (51006), OptType 1/2/3 with the bits and
// CustomMark each requires, Type 1 with To_Account or Type 2 with ToGroupId,
// bits 0-63, CustomMark at most 256 bytes, no bit both set and cleared, no
// conversation twice in a request, exactly-spelled field names and no
// unknown fields. Request-level problems answer ActionStatus FAIL and apply
// nothing. Item-level problems answer that item's ResultCode while the other
// items are applied and the request says OK with ErrorCode 0 (partial
// success). ResultItem is never in request order, because the only correct
// way to read it is to match each result by its ContactItem.
//
// # State
//
// Each user has a map from Conversation to Mark and the order in which its
// conversations were first marked (get_contact_group pages in that order). A
// change clears bits, then sets bits, then overwrites the custom mark, so
// re-sending an item is harmless. A conversation, once marked, counts toward
// the user's 1000 (Config.MaxConversations) even after its marks are
// cleared. Tests read and alter the state with Conversations, Lookup,
// Snapshot, SetMark and DeleteConversation, and read the traffic with Stats.
//
// # Faults
//
// Config can add latency and inject faults: request-level transient errors
// (50004/70500), item-level transient errors (50004/50005), bare HTTP 502s,
// and lost responses, where the change is applied and the connection then
// closed without an answer. All randomness comes from Config.Seed, so a
// failing run can be repeated.
//
// # Read APIs
//
// search_contact_group and get_contact_group answer the shape of the public
// documentation: each conversation's Type, To_Account or ToGroupId,
// StandardMark, CustomMark and Timestamp side by side. StandardMark's bit
// order is undocumented; see FormatStandardMark for the assumption made.
package fakeim
