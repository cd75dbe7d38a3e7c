package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// partSize is the size of the parts of a multipart upload, and the largest
// object a Writer sends in one PUT. S3 takes parts of 5 MiB and more (the
// last one excepted) and at most 10,000 of them: 80 GiB an object.
const partSize = 8 << 20

// maxParts is S3's limit on the parts of one upload.
const maxParts = 10000

// abortTimeout bounds the clean-up of an upload that was abandoned, which
// runs even when the caller's context is already cancelled.
const abortTimeout = 30 * time.Second

// Writer writes one object that appears only complete: nothing is visible
// under its key before Commit, and Abort (or a failed Commit) leaves the key
// as it was. It is not safe for concurrent use.
type Writer struct {
	ctx      context.Context
	s        *Store
	l        Location
	ifAbsent bool
	buf      bytes.Buffer
	uploadID string
	parts    []types.CompletedPart
	done     bool
	err      error
}

// Create starts an object at l. With ifAbsent the object must not exist now
// (ErrExist) nor when Commit publishes it.
func (s *Store) Create(ctx context.Context, l Location, ifAbsent bool) (*Writer, error) {
	if l.IsPrefix() {
		return nil, fmt.Errorf("write %s: an object's key cannot be empty or end in /", l)
	}
	if ifAbsent {
		if err := s.absent(ctx, l); err != nil {
			return nil, err
		}
	}
	return &Writer{ctx: ctx, s: s, l: l, ifAbsent: ifAbsent}, nil
}

// Write buffers p and sends every full part.
func (w *Writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, fmt.Errorf("write %s: the object was already committed or aborted", w.l)
	}
	if w.err != nil {
		return 0, w.err
	}
	w.buf.Write(p)
	for w.buf.Len() >= 2*partSize {
		if err := w.sendPart(partSize); err != nil {
			w.err = err
			return len(p), err
		}
	}
	return len(p), nil
}

// sendPart uploads the first n buffered bytes as the next part, starting the
// upload on the first.
func (w *Writer) sendPart(n int) error {
	if len(w.parts) == maxParts {
		return fmt.Errorf("write %s: more than %d parts of %d MiB", w.l, maxParts, partSize>>20)
	}
	if w.uploadID == "" {
		out, err := w.s.client.CreateMultipartUpload(w.ctx, &s3.CreateMultipartUploadInput{Bucket: &w.l.Bucket, Key: &w.l.Key})
		if err != nil {
			return w.s.wrap("write", w.l, err)
		}
		if aws.ToString(out.UploadId) == "" {
			return fmt.Errorf("write %s: the store started an upload without an id", w.l)
		}
		w.uploadID = *out.UploadId
	}
	num := int32(len(w.parts) + 1)
	body := w.buf.Next(n)
	out, err := w.s.client.UploadPart(w.ctx, &s3.UploadPartInput{
		Bucket: &w.l.Bucket, Key: &w.l.Key, UploadId: &w.uploadID, PartNumber: &num,
		Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
	})
	if err != nil {
		return w.s.wrap("write", w.l, err)
	}
	if aws.ToString(out.ETag) == "" {
		return fmt.Errorf("write %s: the store accepted part %d without an ETag", w.l, num)
	}
	w.parts = append(w.parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)})
	return nil
}

// Commit publishes the object: one PUT if it never outgrew two parts'
// worth, else the last part and CompleteMultipartUpload. After an error the
// upload is aborted and the key is left as it was.
func (w *Writer) Commit() error {
	if w.done {
		return fmt.Errorf("write %s: the object was already committed or aborted", w.l)
	}
	if w.err != nil {
		return errors.Join(w.err, w.Abort())
	}
	if w.uploadID == "" {
		w.done = true
		return w.s.Put(w.ctx, w.l, w.buf.Bytes(), w.ifAbsent)
	}
	if err := w.sendPart(w.buf.Len()); err != nil {
		return errors.Join(err, w.Abort())
	}
	if w.ifAbsent {
		if err := w.s.absent(w.ctx, w.l); err != nil {
			return errors.Join(err, w.Abort())
		}
	}
	in := &s3.CompleteMultipartUploadInput{
		Bucket: &w.l.Bucket, Key: &w.l.Key, UploadId: &w.uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: w.parts},
	}
	if w.ifAbsent {
		in.IfNoneMatch = aws.String("*")
	}
	if _, err := w.s.client.CompleteMultipartUpload(w.ctx, in); err != nil {
		return errors.Join(w.s.wrap("write", w.l, err), w.Abort())
	}
	w.done = true
	return nil
}

// Abort drops the object: the buffered bytes, and the parts already sent
// (AbortMultipartUpload, even when the writer's context is cancelled).
// Aborting a committed or aborted writer does nothing.
func (w *Writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.buf.Reset()
	if w.uploadID == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), abortTimeout)
	defer cancel()
	_, err := w.s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &w.l.Bucket, Key: &w.l.Key, UploadId: &w.uploadID})
	if err != nil && apiCode(err) != "NoSuchUpload" {
		return w.s.wrap("abort the upload of", w.l, err)
	}
	return nil
}
