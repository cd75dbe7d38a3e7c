// Package usersig makes and checks Tencent Cloud IM user signatures (TLS sig
// API v2), the credential every REST call carries in its usersig query
// parameter.
//
// markimport needs both directions. The client makes a fresh usersig for the
// App admin from the secret key and renews it before it expires, because a
// run can last hours while a signature is typically valid for a day or less.
// The in-repo emulator (sink/fakeim) checks the signatures it receives the way
// the real service does, so that a wrong key, a wrong admin, a wrong SDKAppID
// or an expired signature shows up in tests as the same error code it would
// produce in production.
//
// A usersig is a JSON object carrying the identifier, the SDKAppID, the issue
// time, the lifetime and an HMAC-SHA256 of those fields keyed with the secret
// key. The JSON is zlib-compressed and encoded in base64 with the characters
// '+', '/' and '=' replaced by '*', '-' and '_' so that it can sit in a URL.
// Verify always parses that JSON and recomputes the HMAC: two valid usersigs
// for the same fields need not be byte-identical (compressors differ), so they
// are never compared as strings.
//
// Secret keys and usersigs are credentials: no error returned by this package
// contains either of them.
package usersig
