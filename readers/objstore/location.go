package objstore

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// scheme is the URL scheme of an object location.
const scheme = "s3://"

// IsURL reports whether s names an object location (s3://...).
func IsURL(s string) bool { return strings.HasPrefix(s, scheme) }

// Location is an object or a prefix in a bucket: s3://Bucket/Key. A Key
// that is empty or ends in "/" names a prefix.
type Location struct {
	Bucket string
	Key    string
}

// Parse reads an s3://BUCKET/KEY URL. The bucket must be a valid S3 bucket
// name (3 to 63 characters: lower-case letters, digits, '.', '-'); the key
// may be empty (the whole bucket). Anything else is an error that quotes the
// URL.
func Parse(s string) (Location, error) {
	if !IsURL(s) {
		return Location{}, fmt.Errorf("%q is not an s3:// URL", s)
	}
	rest := s[len(scheme):]
	bucket, key, _ := strings.Cut(rest, "/")
	if err := checkBucket(bucket); err != nil {
		return Location{}, fmt.Errorf("%q: %w", s, err)
	}
	if strings.ContainsAny(key, "\x00\r\n") {
		return Location{}, fmt.Errorf("%q: the key holds a control character", s)
	}
	return Location{Bucket: bucket, Key: key}, nil
}

func checkBucket(b string) error {
	if b == "" {
		return errors.New("no bucket name after s3://")
	}
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket name %q must be 3 to 63 characters long", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return fmt.Errorf("bucket name %q may hold only lower-case letters, digits, '.' and '-'", b)
		}
	}
	if first, last := b[0], b[len(b)-1]; first == '.' || first == '-' || last == '.' || last == '-' {
		return fmt.Errorf("bucket name %q must begin and end with a letter or a digit", b)
	}
	return nil
}

// String is the location as an s3:// URL.
func (l Location) String() string { return scheme + l.Bucket + "/" + l.Key }

// IsPrefix reports whether the location names a prefix rather than one
// object: its key is empty or ends in "/".
func (l Location) IsPrefix() bool { return l.Key == "" || strings.HasSuffix(l.Key, "/") }

// kindError is an error that errors.Is matches against a kind of fs error
// too, so that callers written for local files treat objects the same way.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }

var (
	// ErrNotExist is returned (wrapped, naming the object) for an object that
	// is not there. errors.Is(err, fs.ErrNotExist) holds too.
	ErrNotExist error = &kindError{"no such object", fs.ErrNotExist}
	// errNoBucket is returned (wrapped, naming the location) when the bucket
	// itself is not there. errors.Is(err, fs.ErrNotExist) holds, but not
	// errors.Is(err, ErrNotExist): a missing bucket is never taken for a
	// missing object that may be written.
	errNoBucket error = &kindError{"no such bucket", fs.ErrNotExist}
	// errExist is returned (wrapped, naming the object) by a write with
	// ifAbsent when the object is already there. errors.Is(err, fs.ErrExist)
	// holds too.
	errExist error = &kindError{"the object already exists", fs.ErrExist}
)
