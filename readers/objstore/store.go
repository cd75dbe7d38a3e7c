package objstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"
)

// Store is one client of one object store, shared by every input and output
// of a process. Its methods are safe for concurrent use.
type Store struct {
	client   *s3.Client
	endpoint string // as resolved, for messages; "" for the SDK's default (AWS)
	fetched  atomic.Int64
}

// Options sets a Store up explicitly, without reading the environment (for
// tests and tools that start their own server).
type Options struct {
	Endpoint  string // http(s)://host[:port]
	Region    string
	AccessKey string
	SecretKey string
	PathStyle bool
}

// newFromEnv builds the Store from the environment and the shared config
// files, as the AWS SDKs and CLI read them (see the package comment).
func newFromEnv(ctx context.Context) (*Store, error) {
	cfg, err := config.LoadDefaultConfig(ctx, quiet)
	if err != nil {
		return nil, fmt.Errorf("object storage settings: %w", err)
	}
	forcePath, err := pathStyleFromEnv()
	if err != nil {
		return nil, err
	}
	return newStore(cfg, forcePath)
}

// NewWith builds a Store from explicit options only.
func NewWith(ctx context.Context, o Options) (*Store, error) {
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(o.Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(o.AccessKey, o.SecretKey, "")),
		config.WithBaseEndpoint(o.Endpoint),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
		quiet,
	)
	if err != nil {
		return nil, fmt.Errorf("object storage settings: %w", err)
	}
	return newStore(cfg, o.PathStyle)
}

// quiet keeps the SDK from writing to the process's standard error (it
// logs notes such as "Response has no supported checksum" there by
// default): every line markimport prints is its own.
var quiet = config.WithLogger(logging.Nop{})

// pathStyleFromEnv reads AWS_S3_USE_PATH_STYLE: unset is false, and anything
// but a boolean is an error rather than a guess.
func pathStyleFromEnv() (bool, error) {
	v, ok := os.LookupEnv("AWS_S3_USE_PATH_STYLE")
	if !ok || v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("AWS_S3_USE_PATH_STYLE=%q: want true or false", v)
	}
	return b, nil
}

func newStore(cfg aws.Config, forcePath bool) (*Store, error) {
	s := &Store{}
	var endpointErr error
	s.client = s3.NewFromConfig(cfg, func(o *s3.Options) {
		if o.BaseEndpoint == nil || *o.BaseEndpoint == "" {
			o.UsePathStyle = forcePath
			return
		}
		s.endpoint = *o.BaseEndpoint
		pathStyle, err := checkEndpoint(s.endpoint)
		if err != nil {
			endpointErr = err
			return
		}
		o.UsePathStyle = forcePath || pathStyle
	})
	if endpointErr != nil {
		return nil, endpointErr
	}
	return s, nil
}

// checkEndpoint refuses an endpoint that is not an http(s) URL, or plain
// http to anything but loopback, and says whether its host calls for
// path-style addressing (an IP address or localhost cannot carry a bucket
// in its name).
func checkEndpoint(raw string) (pathStyle bool, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false, fmt.Errorf("object storage endpoint %q: want https://host[:port]", redactURL(raw))
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	local := strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost")
	if u.Scheme == "http" && !(local || ip != nil && ip.IsLoopback()) {
		return false, fmt.Errorf("object storage endpoint %q: plain http is allowed only to a loopback address; use https", redactURL(raw))
	}
	return ip != nil || local, nil
}

// redactURL drops any user information from a URL before it is printed.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		if i := strings.LastIndex(raw, "@"); i >= 0 {
			return "…@" + raw[i+1:]
		}
		return raw
	}
	u.User = nil
	return u.String()
}

// Fetched is the number of object bytes received by reads so far.
func (s *Store) Fetched() int64 { return s.fetched.Load() }

// wrap names the object and the operation in an error from the SDK, and
// classifies the ones callers act on.
func (s *Store) wrap(op string, l Location, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s %s: %w", op, l, err)
	}
	switch apiCode(err) {
	case "NotFound", "NoSuchKey":
		return fmt.Errorf("%s %s: %w", op, l, ErrNotExist)
	case "NoSuchBucket":
		return fmt.Errorf("%s %s: the bucket %q does not exist (check the bucket name and the endpoint%s): %w", op, l, l.Bucket, s.endpointNote(), errNoBucket)
	case "PreconditionFailed":
		return fmt.Errorf("%s %s: %w", op, l, errExist)
	case "AccessDenied", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch":
		return fmt.Errorf("%s %s: access denied (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or the profile, and the bucket's permissions): %w", op, l, err)
	}
	return fmt.Errorf("%s %s%s: %w", op, l, s.endpointNote(), err)
}

func (s *Store) endpointNote() string {
	if s.endpoint == "" {
		return ""
	}
	return " at " + redactURL(s.endpoint)
}

// shared is the process's Store: made the first time an s3:// location is
// used (a run with local paths only needs no settings), and made again
// only when the AWS_ environment it was made from changed (a process that
// is a test, starting servers of its own).
var shared struct {
	sync.Mutex
	env   string
	store *Store
}

// Shared returns the process's Store for the current environment, so that
// inputs and outputs share one client and one reading of the settings.
func Shared(ctx context.Context) (*Store, error) {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	slices.Sort(env)
	key := strings.Join(env, "\x00")
	shared.Lock()
	defer shared.Unlock()
	if shared.store != nil && shared.env == key {
		return shared.store, nil
	}
	s, err := newFromEnv(ctx)
	if err != nil {
		return nil, err
	}
	shared.store, shared.env = s, key
	return s, nil
}
