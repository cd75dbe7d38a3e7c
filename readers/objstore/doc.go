// Package objstore is markimport's client for S3-compatible object storage
// (Amazon S3, Tencent COS, MinIO and the like): the locations an s3:// URL
// names, listing a prefix, reading an object as one stream or by ranges,
// and writing an object that appears only complete.
//
// It is a thin layer over the AWS SDK for Go v2, which reads the settings
// the way every AWS tool does: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN, AWS_REGION, AWS_PROFILE and the shared config and
// credentials files, the endpoint from AWS_ENDPOINT_URL_S3 or
// AWS_ENDPOINT_URL (or endpoint_url in the shared config), and the checksum
// settings AWS_REQUEST_CHECKSUM_CALCULATION and
// AWS_RESPONSE_CHECKSUM_VALIDATION. This package adds three rules of its
// own: path-style addressing (http://host/bucket/key) is used when the
// endpoint's host is an IP address or localhost, or when AWS_S3_USE_PATH_STYLE
// is true, and virtual-hosted style (bucket.host) otherwise; an endpoint
// over plain http is refused unless its host is a loopback address, so that
// credentials and data never cross a network unencrypted; and every answer
// is checked: a ranged read must return exactly the bytes asked for, an
// object read by ranges must keep the ETag it had when it was first seen.
//
// Failures. A request that fails before its answer starts (a 5xx answer,
// throttling, a connection refused or reset) is retried by the SDK's
// standard retryer: 3 attempts, with its jittered backoff. A ranged read
// whose answer breaks off mid-body is asked for again, 3 times in all
// (If-Match keeps it the same bytes); a stream that breaks off is an
// error saying how far it got, never a shorter object. Every request is
// made under the caller's context: a read that waits on a store that
// stopped answering returns the context's error once it is cancelled.
//
// Writing. Put sends one object in one request. Create returns a Writer that
// buffers up to 8 MiB and sends larger objects as a multipart upload,
// published by Commit (CompleteMultipartUpload) and dropped by Abort, so
// that nobody sees a part-written object. With ifAbsent, an existing object
// is never replaced: the object is looked up first (an error matching
// fs.ErrExist if it is there) and the write carries If-None-Match: *,
// which Amazon S3 enforces atomically. Stores that ignore the condition (Tencent COS overwrites
// silently) are protected by the look-up only, which leaves a window of one
// request between the look-up and the write; callers that need more take a
// lease of their own.
//
// A process uses one Store, Shared, made on first use from the environment:
// the inputs and the outputs of a run read the settings once and share its
// connections.
//
// Errors name the object (s3://bucket/key) and never carry a credential.
// ErrNotExist matches fs.ErrNotExist, and a write refused because the
// object is there matches fs.ErrExist, under errors.Is.
//
// The package imports nothing of the project.
package objstore
