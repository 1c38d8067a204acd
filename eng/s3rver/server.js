#!/usr/bin/env node
// Local S3-compatible object store for HeadyClouds (dev "local mode" and tests), no Docker.
//
//   node eng/s3rver/server.js --address 127.0.0.1 --port 9000 --directory /some/dir \
//        --access-key KEY --secret-key SECRET [--bucket chunks --bucket backups ...] [--silent]
//
// --access-key/--secret-key may be omitted when HEADY_S3_ACCESS_KEY/HEADY_S3_SECRET_KEY are set
// (keeps the secret out of `ps`). Buckets given with --bucket are created if missing. --port 0
// picks a free port (the listening line tells which).
//
// It runs s3rver 3.7.1 (pinned in package.json) with run-time patches that make it usable with the
// .NET Minio 7.0.0 SDK and closer to real S3. node_modules is never edited; every patch is applied
// below, at load time, before s3rver's router module is loaded. Patches:
//   1. Credentials: the built-in S3RVER/S3RVER key pair is revoked; only --access-key/--secret-key
//      is accepted. Anonymous requests are rejected (403 AccessDenied).
//   2. Signature V4 is really verified (s3rver 3.7.1 accepts any V4 signature): header and
//      presigned-query forms; a wrong secret gives 403 SignatureDoesNotMatch, an unknown key 403
//      InvalidAccessKeyId. Signature V2 is refused (400): s3rver's V2 check omitted the Date and
//      so rejected correctly signed requests, and AWS itself no longer takes V2 for new buckets.
//      aws-chunked streaming uploads are refused (501) instead of being stored with the chunk
//      framing in them. The payload hash (x-amz-content-sha256) is signed but not compared
//      with the body.
//   3. ListObjects (V1 and V2) is reimplemented: the XML namespace was wrong
//      ("http://doc.s3.amazonaws.com/2006-03-01/" instead of "http://s3.amazonaws.com/doc/2006-03-01/")
//      so Minio's XDocument lookups found no <Contents>; encoding-type=url is honoured (Minio 7.0.0
//      always URL-decodes listed keys, so keys must be sent encoded); keys are returned in true
//      S3 (UTF-8 byte) order; continuation tokens no longer use DES, which Node >= 17 (OpenSSL 3)
//      refuses, so listing more than 1000 keys used to fail with a 500; multi-character delimiters
//      work; HEAD bucket no longer lists the whole bucket.
//   4. The same wrong namespace is fixed on every other XML answer (ListAllMyBucketsResult,
//      LocationConstraint, CopyObjectResult, multipart results, ...).
//   5. CopyObject: s3rver decoded x-amz-copy-source with decodeURI(), which leaves %2F, %2B, %3F,
//      %23, %26, ... encoded (Minio encodes the key with Uri.EscapeDataString, so "a/b c" arrives
//      as "a%2Fb%20c"), and it did not strip "?versionId=". Now it is split and fully decoded.
//   6. Range GET: suffix ranges ("bytes=-N") returned the first N+1 bytes, and "bytes=0-0"
//      returned the whole object. Both fixed.
//   7. Filesystem store: keys with "." or ".." path segments and invalid bucket names are refused
//      (they resolved outside the storage directory); concurrent deletes in one directory no
//      longer fail with a 500; a PUT racing with a delete no longer crashes the process; uploads
//      are written to a temporary file and renamed, so an aborted upload leaves the old object.
// Also: s3rver's request log lines were cut (it dropped their first 16 characters); they are now
// "METHOD /path STATUS TIMEms" (query strings, which may hold presigned signatures, are left out).
// When ready it prints the line "s3rver listening on http://ADDR:PORT" to stdout (request logs
// follow unless --silent), serves an unauthenticated GET /_health (200 "ok") for supervisors,
// and exits cleanly (status 0) on SIGTERM/SIGINT.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { Transform } = require('stream');
const { pipeline } = require('stream/promises');

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------
function usage(message) {
  if (message) process.stderr.write(`server.js: ${message}\n`);
  process.stderr.write(
    'usage: node server.js --address ADDR --port PORT --directory DIR ' +
      '--access-key KEY --secret-key SECRET [--bucket NAME]... [--silent]\n' +
      '  (or HEADY_S3_ACCESS_KEY / HEADY_S3_SECRET_KEY in the environment)\n',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { address: '127.0.0.1', port: 9000, buckets: [], silent: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    let name = arg;
    let value;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq !== -1) {
      name = arg.slice(0, eq);
      value = arg.slice(eq + 1);
    }
    const take = () => {
      if (value !== undefined) return value;
      if (i + 1 >= argv.length) usage(`missing value for ${name}`);
      return argv[++i];
    };
    switch (name) {
      case '--address': opts.address = take(); break;
      case '--port': opts.port = Number(take()); break;
      case '--directory': opts.directory = take(); break;
      case '--access-key': opts.accessKey = take(); break;
      case '--secret-key': opts.secretKey = take(); break;
      case '--bucket': opts.buckets.push(take()); break;
      case '--silent': opts.silent = true; break;
      case '-h': case '--help': usage(); break;
      default: usage(`unknown argument ${arg}`);
    }
  }
  // The keys may come from the environment instead, to keep them off the command line (ps).
  if (!opts.accessKey) opts.accessKey = process.env.HEADY_S3_ACCESS_KEY;
  if (!opts.secretKey) opts.secretKey = process.env.HEADY_S3_SECRET_KEY;
  if (!opts.directory) usage('--directory is required');
  if (!opts.accessKey || !opts.secretKey) usage('--access-key and --secret-key are required');
  if (opts.accessKey.includes('/')) usage('--access-key must not contain "/"');
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) usage('bad --port');
  return opts;
}

const opts = parseArgs(process.argv.slice(2));

// ---------------------------------------------------------------------------------------------
// Patches. These must run before require('s3rver'): lib/routes.js instantiates the
// authentication middleware when it is first loaded.
// ---------------------------------------------------------------------------------------------
const S3RVER_PKG = require('s3rver/package.json');
if (S3RVER_PKG.version !== '3.7.1') {
  // The patches below are written against 3.7.1's internals.
  process.stderr.write(`server.js: expected s3rver 3.7.1, found ${S3RVER_PKG.version}\n`);
  process.exit(1);
}
const lib = (p) => require.resolve(`s3rver/lib/${p}`);
const AWSAccount = require(lib('models/account'));
const S3Error = require(lib('models/error'));
const S3Object = require(lib('models/object'));
const FilesystemStore = require(lib('stores/filesystem'));
const bucketCtrl = require(lib('controllers/bucket'));
const objectCtrl = require(lib('controllers/object'));

const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const WRONG_NS = 'http://doc.s3.amazonaws.com/2006-03-01/';
const OBJECT_SUFFIX = '._S3rver_object';
const UPLOADS_DIR = '._S3rver_uploads';
const EMPTY_SHA256 = crypto.createHash('sha256').digest('hex');

// --- 1. credentials ---------------------------------------------------------------------------
const { DUMMY_ACCOUNT } = AWSAccount;
DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
DUMMY_ACCOUNT.createKeyPair(opts.accessKey, opts.secretKey);

// --- 2. authentication: SigV4 verification in front of s3rver's middleware --------------------
function rfc3986(str) {
  return encodeURIComponent(str).replace(
    /[!'()*]/g,
    (ch) => '%' + ch.charCodeAt(0).toString(16).toUpperCase(),
  );
}

function safeDecode(str) {
  try {
    return decodeURIComponent(str);
  } catch (e) {
    return str;
  }
}

function hmac(key, data) {
  return crypto.createHmac('sha256', key).update(data, 'utf8').digest();
}

function sha256Hex(data) {
  return crypto.createHash('sha256').update(data, 'utf8').digest('hex');
}

function timingSafeEqualStr(a, b) {
  const ba = Buffer.from(String(a));
  const bb = Buffer.from(String(b));
  return ba.length === bb.length && crypto.timingSafeEqual(ba, bb);
}

function signatureMismatch(accessKeyId, stringToSign) {
  return new S3Error(
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. ' +
      'Check your key and signing method.',
    { AWSAccessKeyId: accessKeyId, StringToSign: stringToSign || '' },
  );
}

// Values of one header exactly as sent (Node's ctx.headers joins/drops some duplicates).
function rawHeaderValues(req, name) {
  const values = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i].toLowerCase() === name) values.push(req.rawHeaders[i + 1]);
  }
  return values;
}

function verifySigV4(ctx) {
  const req = ctx.req;
  const rawUrl = ctx.originalUrl || req.url; // before vhost rewriting
  const qIdx = rawUrl.indexOf('?');
  const rawPath = qIdx === -1 ? rawUrl : rawUrl.slice(0, qIdx);
  const rawQuery = qIdx === -1 ? '' : rawUrl.slice(qIdx + 1);
  const presigned = 'X-Amz-Algorithm' in ctx.query;

  let credential;
  let signedHeaders;
  let provided;
  let amzDate;
  let payloadHash;
  if (presigned) {
    credential = String(ctx.query['X-Amz-Credential'] || '');
    signedHeaders = String(ctx.query['X-Amz-SignedHeaders'] || '');
    provided = String(ctx.query['X-Amz-Signature'] || '');
    amzDate = String(ctx.query['X-Amz-Date'] || '');
    payloadHash = ctx.get('x-amz-content-sha256') || 'UNSIGNED-PAYLOAD';
  } else {
    const m = /^AWS4-HMAC-SHA256\s+(.+)$/i.exec(ctx.get('authorization'));
    if (!m) throw new S3Error('AuthorizationHeaderMalformed', 'Malformed authorization header.');
    const fields = {};
    for (const part of m[1].split(',')) {
      const eq = part.indexOf('=');
      if (eq !== -1) fields[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
    }
    credential = fields.Credential || '';
    signedHeaders = fields.SignedHeaders || '';
    provided = fields.Signature || '';
    amzDate = ctx.get('x-amz-date') || ctx.get('date');
    payloadHash = ctx.get('x-amz-content-sha256');
    const hasBody = Number(ctx.get('content-length') || 0) > 0 || Boolean(ctx.get('transfer-encoding'));
    if (!payloadHash && !hasBody) {
      // S3 requires x-amz-content-sha256; generic SigV4 signers (curl --aws-sigv4) omit it and
      // sign the hash of the empty body. Accept that for body-less requests.
      payloadHash = EMPTY_SHA256;
      ctx.headers['x-amz-content-sha256'] = EMPTY_SHA256; // for s3rver's own header check
    }
  }

  const scopeParts = credential.split('/');
  if (scopeParts.length !== 5 || scopeParts[4] !== 'aws4_request' || !signedHeaders || !provided) {
    throw new S3Error(
      'AuthorizationHeaderMalformed',
      'The authorization header is malformed; the Credential, SignedHeaders and Signature ' +
        'components are required.',
    );
  }
  const [accessKeyId, scopeDate, region, service] = scopeParts;
  const account = AWSAccount.registry.get(accessKeyId);
  const secret = account && account.accessKeys.get(accessKeyId);
  if (!secret) {
    throw new S3Error(
      'InvalidAccessKeyId',
      'The AWS Access Key Id you provided does not exist in our records.',
      { AWSAccessKeyId: accessKeyId },
    );
  }
  if (/^STREAMING-/i.test(payloadHash || '')) {
    throw new S3Error(
      'NotImplemented',
      'aws-chunked (streaming signature) uploads are not supported by this local S3 server; ' +
        'disable chunked encoding / payload signing in the client.',
    );
  }

  // Canonical query string: every parameter (but the signature itself), decoded then
  // RFC 3986-encoded, sorted by name then value.
  const params = [];
  for (const piece of rawQuery.split('&')) {
    if (!piece) continue;
    const eq = piece.indexOf('=');
    const name = safeDecode(eq === -1 ? piece : piece.slice(0, eq));
    const value = safeDecode(eq === -1 ? '' : piece.slice(eq + 1));
    if (presigned && name === 'X-Amz-Signature') continue;
    params.push([rfc3986(name), rfc3986(value)]);
  }
  params.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  const canonicalQuery = params.map(([k, v]) => `${k}=${v}`).join('&');

  const headerNames = signedHeaders.split(';');
  const canonicalHeaders = headerNames
    .map((name) => {
      const values = rawHeaderValues(req, name).map((v) => v.trim().replace(/\s+/g, ' '));
      return `${name}:${values.join(',')}\n`;
    })
    .join('');

  // S3 does not normalise the path. Clients sign the path as they send it; accept that, and
  // the canonical single RFC 3986 encoding of it (for clients that send it less encoded).
  const canonicalPath = rawPath
    .split('/')
    .map((seg) => rfc3986(safeDecode(seg)))
    .join('/');
  const candidates = rawPath === canonicalPath ? [rawPath] : [rawPath, canonicalPath];

  const scope = `${scopeDate}/${region}/${service}/aws4_request`;
  const signingKey = hmac(
    hmac(hmac(hmac(`AWS4${secret}`, scopeDate), region), service),
    'aws4_request',
  );
  let lastStringToSign;
  for (const uri of candidates) {
    const canonicalRequest = [
      ctx.method,
      uri,
      canonicalQuery,
      canonicalHeaders,
      signedHeaders,
      payloadHash || 'UNSIGNED-PAYLOAD',
    ].join('\n');
    const stringToSign = [
      'AWS4-HMAC-SHA256',
      amzDate,
      scope,
      sha256Hex(canonicalRequest),
    ].join('\n');
    lastStringToSign = stringToSign;
    const expected = crypto.createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
    if (timingSafeEqualStr(expected, provided)) return;
  }
  throw signatureMismatch(accessKeyId, lastStringToSign);
}

const authPath = lib('middleware/authentication');
const originalAuthFactory = require(authPath);
require.cache[authPath].exports = function patchedAuthenticationFactory() {
  const original = originalAuthFactory();
  return async function authentication(ctx, next) {
    if (ctx.state.website || ctx.method === 'OPTIONS') return original(ctx, next);
    const isV4 =
      /^AWS4-HMAC-SHA256\s/i.test(ctx.get('authorization')) || 'X-Amz-Algorithm' in ctx.query;
    const isAnonymous =
      !ctx.get('authorization') && !('Signature' in ctx.query) && !('X-Amz-Algorithm' in ctx.query);
    if (isAnonymous) {
      throw new S3Error('AccessDenied', 'Access Denied (anonymous requests are not allowed).');
    }
    if (!isV4) {
      // Signature V2: s3rver 3.7.1 left the Date out of the string to sign (so correctly signed
      // requests failed), and AWS no longer accepts V2 for new buckets. Refuse it clearly.
      throw new S3Error(
        'InvalidRequest',
        'Signature Version 2 is not supported by this local S3 server; use AWS4-HMAC-SHA256.',
      );
    }
    verifySigV4(ctx);
    // s3rver's own middleware then checks the request time (15 min skew) or presign expiry.
    return original(ctx, next);
  };
};

// --- 3. ListObjects V1/V2 ---------------------------------------------------------------------
function byteCompare(a, b) {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

// All keys of a bucket that start with `prefix`, in S3 order.
async function listKeys(store, bucket, prefix) {
  const bucketPath = store.getBucketPath(bucket);
  // Start at the deepest directory named by the prefix, when that is safe.
  let startRel = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
  if (startRel.split('/').some((seg) => seg === '' || seg === '.' || seg === '..')) startRel = '';
  const keys = [];
  const walk = async (rel) => {
    let entries;
    try {
      entries = await fs.promises.readdir(rel ? path.join(bucketPath, rel) : bucketPath, {
        withFileTypes: true,
      });
    } catch (err) {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return;
      throw err;
    }
    for (const entry of entries) {
      const relName = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!rel && entry.name === UPLOADS_DIR) continue; // in-progress multipart uploads
        await walk(relName);
      } else if (entry.name.endsWith(OBJECT_SUFFIX)) {
        const key = relName.slice(0, -OBJECT_SUFFIX.length);
        if (key.startsWith(prefix)) keys.push(key);
      }
    }
  };
  await walk(startRel);
  return keys.sort(byteCompare);
}

function encodeContinuationToken(bucket, after) {
  return Buffer.from(JSON.stringify({ b: bucket, a: after }), 'utf8').toString('base64');
}

function decodeContinuationToken(bucket, token) {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
    if (parsed && parsed.b === bucket && typeof parsed.a === 'string') return parsed.a;
  } catch (e) {
    // fall through
  }
  throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', {
    ArgumentName: 'continuation-token',
  });
}

bucketCtrl.getBucket = async function getBucket(ctx) {
  if (ctx.method === 'HEAD') {
    // HEAD Bucket: existence was checked by bucketExists.
    ctx.status = 200;
    ctx.body = '';
    return;
  }
  const q = ctx.query;
  const bucket = ctx.params.bucket;
  const v2 = q['list-type'] === '2';
  const prefix = q.prefix || '';
  const delimiter = q.delimiter || '';
  const urlEncoding = q['encoding-type'] === 'url';
  if (q['encoding-type'] !== undefined && !urlEncoding) {
    throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', {
      ArgumentName: 'encoding-type',
      ArgumentValue: q['encoding-type'],
    });
  }
  let maxKeys = 1000;
  if (q['max-keys'] !== undefined) {
    if (!/^\d+$/.test(q['max-keys'])) {
      throw new S3Error('InvalidArgument', 'Provided max-keys not an integer or within integer range', {
        ArgumentName: 'max-keys',
        ArgumentValue: q['max-keys'],
      });
    }
    maxKeys = Math.min(1000, Number(q['max-keys']));
  }
  let after = '';
  if (v2) {
    if ('marker' in q) {
      throw new S3Error('InvalidArgument', 'Marker unsupported with REST.GET.BUCKET in list-type=2', {
        ArgumentName: 'marker',
      });
    }
    after = q['continuation-token']
      ? decodeContinuationToken(bucket, q['continuation-token'])
      : q['start-after'] || '';
  } else {
    if ('continuation-token' in q || 'start-after' in q) {
      throw new S3Error('InvalidArgument', 'continuation-token and start-after need list-type=2', {
        ArgumentName: 'continuation-token' in q ? 'continuation-token' : 'start-after',
      });
    }
    after = q.marker || '';
  }

  const commonPrefixOf = (key) => {
    if (!delimiter || !key.startsWith(prefix)) return null;
    const idx = key.indexOf(delimiter, prefix.length);
    return idx === -1 ? null : key.slice(0, idx + delimiter.length);
  };
  const afterGroup = after ? commonPrefixOf(after) : null;

  const entries = []; // { key } or { prefix }
  let isTruncated = false;
  if (maxKeys > 0) {
    for (const key of await listKeys(ctx.store, bucket, prefix)) {
      if (after && byteCompare(key, after) <= 0) continue;
      const group = commonPrefixOf(key);
      if (group !== null) {
        if (group === afterGroup) continue; // that group was returned on an earlier page
        const last = entries[entries.length - 1];
        if (last && last.prefix === group) continue;
      }
      if (entries.length >= maxKeys) {
        isTruncated = true;
        break;
      }
      entries.push(group !== null ? { prefix: group } : { key });
    }
  }
  const lastEntry = entries[entries.length - 1];
  const nextAfter = isTruncated && lastEntry ? lastEntry.key || lastEntry.prefix : undefined;

  const objects = [];
  for (const entry of entries) {
    if (entry.key === undefined) continue;
    try {
      const metadata = await ctx.store.getMetadata(bucket, entry.key);
      objects.push(new S3Object(bucket, entry.key, null, metadata));
    } catch (err) {
      if (err.code !== 'ENOENT') throw err; // deleted meanwhile
    }
  }
  const enc = (s) =>
    s === undefined || s === '' || !urlEncoding ? s : encodeURIComponent(s).replace(/%2F/g, '/');
  const fetchOwner = v2 ? q['fetch-owner'] === 'true' : true;

  ctx.body = {
    ListBucketResult: {
      '@': { xmlns: S3_NS },
      Name: bucket,
      Prefix: enc(prefix) || '',
      ...(v2
        ? {
            StartAfter: q['start-after'] ? enc(q['start-after']) : undefined,
            ContinuationToken: q['continuation-token'] || undefined,
            NextContinuationToken:
              nextAfter !== undefined ? encodeContinuationToken(bucket, nextAfter) : undefined,
            KeyCount: entries.length,
          }
        : {
            Marker: enc(after) || '',
            NextMarker: nextAfter !== undefined ? enc(nextAfter) : undefined,
          }),
      MaxKeys: q['max-keys'] || 1000,
      Delimiter: enc(delimiter) || undefined,
      EncodingType: urlEncoding ? 'url' : undefined,
      IsTruncated: isTruncated,
      Contents: objects.map((object) => ({
        Key: enc(object.key),
        LastModified: object.lastModifiedDate.toISOString(),
        ETag: object.metadata.etag,
        Size: object.size,
        Owner: fetchOwner
          ? { ID: DUMMY_ACCOUNT.id, DisplayName: DUMMY_ACCOUNT.displayName }
          : undefined,
        StorageClass: 'STANDARD',
      })),
      CommonPrefixes: entries
        .filter((entry) => entry.prefix !== undefined)
        .map((entry) => ({ Prefix: enc(entry.prefix) })),
    },
  };
};

// --- 4. XML namespace on all other answers (applied by a Koa middleware, see below) ---------
const NAMESPACED_ROOTS = new Set([
  'ListBucketResult',
  'ListAllMyBucketsResult',
  'LocationConstraint',
  'AccessControlPolicy',
  'CopyObjectResult',
  'CopyPartResult',
  'InitiateMultipartUploadResult',
  'CompleteMultipartUploadResult',
  'DeleteResult',
]);

function fixNamespace(body) {
  if (!body || typeof body !== 'object' || Buffer.isBuffer(body) || typeof body.pipe === 'function') {
    return;
  }
  for (const [root, content] of Object.entries(body)) {
    if (!content || typeof content !== 'object') continue;
    const attrs = content['@'];
    if (attrs && attrs.xmlns === WRONG_NS) attrs.xmlns = S3_NS;
    else if (!attrs && NAMESPACED_ROOTS.has(root)) content['@'] = { xmlns: S3_NS };
  }
}

// --- 5. CopyObject source decoding ------------------------------------------------------------
const originalPutObjectCopy = objectCtrl.putObjectCopy;
objectCtrl.putObjectCopy = async function putObjectCopy(ctx) {
  let source = String(ctx.headers['x-amz-copy-source'] || '');
  const q = source.indexOf('?'); // "?versionId=..." (no versioning here: ignored)
  if (q !== -1) source = source.slice(0, q);
  source = safeDecode(source);
  if (source.startsWith('/')) source = source.slice(1);
  // The original runs decodeURI() on the header; decodeURI(encodeURI(s)) === s for any s.
  // (The signature was verified already, so rewriting the header here is harmless.)
  ctx.headers['x-amz-copy-source'] = encodeURI(source);
  return originalPutObjectCopy(ctx);
};

// --- 6. Range GET -----------------------------------------------------------------------------
const originalGetObject = objectCtrl.getObject;
objectCtrl.getObject = async function getObject(ctx) {
  const m = /^bytes=-(\d+)$/.exec(ctx.headers.range || '');
  if (m) {
    // Suffix range: turn it into an explicit one (s3rver read it as "from 0").
    try {
      const metadata = await ctx.store.getMetadata(ctx.params.bucket, ctx.params.key);
      const size = Number(metadata['content-length']);
      const n = Number(m[1]);
      if (n > 0 && size > 0) ctx.headers.range = `bytes=${Math.max(0, size - n)}-${size - 1}`;
    } catch (err) {
      if (err.code !== 'ENOENT') throw err; // missing key: the original answers NoSuchKey
    }
  }
  return originalGetObject(ctx);
};

// s3rver's store treats an explicit end of 0 as "to the end" ("bytes=0-0" returned everything).
// Same code as FilesystemStore#getObject in 3.7.1, with that one test fixed.
FilesystemStore.prototype.getObject = async function getObject(bucket, key, options) {
  try {
    const metadata = await this.getMetadata(bucket, key);
    const lastByte = Math.max(0, Number(metadata['content-length']) - 1);
    const hasEnd = options && options.end !== undefined && !Number.isNaN(options.end);
    const range = {
      start: (options && options.start) || 0,
      end: Math.min(hasEnd ? options.end : Infinity, lastByte),
    };
    const ranged = Boolean(options && (options.start !== undefined || hasEnd));
    if (range.start < 0 || range.end < range.start) {
      const object = new S3Object(bucket, key, null, metadata); // not satisfiable
      if (ranged) object.range = range;
      return object;
    }
    const content = await new Promise((resolve, reject) => {
      const stream = fs
        .createReadStream(this.getResourcePath(bucket, key, 'object'), range)
        .on('error', reject)
        .on('open', () => resolve(stream));
    });
    const object = new S3Object(bucket, key, content, metadata);
    if (ranged) object.range = range;
    return object;
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw err;
  }
};

// --- 7. filesystem store: path safety and concurrency --------------------------------------
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function unsafeKey(key) {
  return typeof key === 'string' && key.split('/').some((seg) => seg === '.' || seg === '..');
}

// Keys with "." / ".." segments would resolve outside the bucket directory.
const originalGetResourcePath = FilesystemStore.prototype.getResourcePath;
FilesystemStore.prototype.getResourcePath = function getResourcePath(bucket, key, resource) {
  if (unsafeKey(key)) {
    throw new S3Error(
      'InvalidArgument',
      'Object keys with "." or ".." path segments are not supported by this local S3 server.',
      { ArgumentName: 'key', ArgumentValue: key },
    );
  }
  return originalGetResourcePath.call(this, bucket, key, resource);
};

// Bucket names are directory names: anything but a valid S3 bucket name does not exist
// (a request for bucket ".." used to find the parent directory) and cannot be created
// (s3rver's own check lets e.g. "a_b" through).
const originalGetBucket = FilesystemStore.prototype.getBucket;
FilesystemStore.prototype.getBucket = function getBucket(bucket) {
  if (!BUCKET_NAME.test(bucket) || bucket.includes('..')) return Promise.resolve(null);
  return originalGetBucket.call(this, bucket);
};
const originalPutBucket = FilesystemStore.prototype.putBucket;
FilesystemStore.prototype.putBucket = function putBucket(bucket) {
  if (!BUCKET_NAME.test(bucket) || bucket.includes('..')) {
    return Promise.reject(
      new S3Error(
        'InvalidBucketName',
        'Bucket names must be 3-63 characters: lowercase letters, numbers, dots and hyphens, ' +
          'starting and ending with a letter or a number.',
        { BucketName: bucket },
      ),
    );
  }
  return originalPutBucket.call(this, bucket);
};

// deleteObject removed now-empty parent directories with readdirSync/rmdir and failed (500)
// when two deletes in one directory raced (Multi-Object Delete runs them in parallel).
FilesystemStore.prototype.deleteObject = async function deleteObject(bucket, key) {
  await Promise.all(
    ['object', 'object.md5', 'metadata.json'].map((resource) =>
      fs.promises.unlink(this.getResourcePath(bucket, key, resource)).catch((err) => {
        if (err.code !== 'ENOENT') throw err;
      }),
    ),
  );
  const bucketPath = this.getBucketPath(bucket);
  const parts = key.split('/');
  parts.pop(); // the last part is the file name
  while (parts.length) {
    try {
      await fs.promises.rmdir(path.join(bucketPath, ...parts)); // only removes empty dirs
    } catch (err) {
      if (err.code === 'ENOENT') {
        // already removed by a concurrent delete: go on with the parent
      } else if (err.code === 'ENOTEMPTY' || err.code === 'EEXIST') {
        break;
      } else {
        throw err;
      }
    }
    parts.pop();
  }
};

// putObject: (a) a concurrent delete could remove the directory between mkdirp and open, and
// the write stream's 'error' had no listener, which crashed the whole process; (b) an aborted
// upload left a truncated object behind. Now the body goes to a temporary file that is renamed
// over the object only when complete (so readers never see a half-written object either).
FilesystemStore.prototype.putObject = async function putObject(object) {
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  const tmpPath = `${objectPath}.tmp-${crypto.randomBytes(6).toString('hex')}`;
  const md5Context = crypto.createHash('md5');
  let size = 0;
  let handle;
  for (let attempt = 0; ; attempt++) {
    await fs.promises.mkdir(path.dirname(objectPath), { recursive: true });
    try {
      handle = await fs.promises.open(tmpPath, 'wx');
      break;
    } catch (err) {
      if (err.code !== 'ENOENT' || attempt >= 10) throw err;
    }
  }
  try {
    if (Buffer.isBuffer(object.content)) {
      md5Context.update(object.content);
      size = object.content.length;
      await handle.writeFile(object.content);
    } else {
      await pipeline(
        object.content,
        new Transform({
          transform(chunk, encoding, callback) {
            md5Context.update(chunk);
            size += chunk.length;
            callback(null, chunk);
          },
        }),
        handle.createWriteStream(), // closes the handle when done (or on error)
      );
      handle = undefined;
    }
    if (handle) await handle.close();
    handle = undefined;
    await fs.promises.rename(tmpPath, objectPath);
  } catch (err) {
    if (handle) await handle.close().catch(() => {});
    await fs.promises.unlink(tmpPath).catch(() => {});
    throw err;
  }
  const md5 = md5Context.digest('hex');
  await this.putMetadata(object.bucket, object.key, object.metadata, md5);
  return { size, md5 };
};

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------
const S3rver = require('s3rver');

async function main() {
  const directory = path.resolve(opts.directory);
  fs.mkdirSync(directory, { recursive: true });

  const server = new S3rver({
    address: opts.address,
    port: opts.port,
    directory,
    silent: opts.silent,
    vhostBuckets: false, // path-style only: "localhost"/IP hosts are the only ones used here
    allowMismatchedSignatures: false,
    resetOnClose: false,
  });

  // Koa middleware order in s3rver: [logger, xml encoder, mount, vhost, router].
  // Our namespace fixer goes right after the encoder, so it sees the body before encoding.
  server.middleware.splice(2, 0, async function namespaceFixer(ctx, next) {
    await next();
    fixNamespace(ctx.body);
  });
  // s3rver's request logger cuts the first 16 characters of each line (meant for colour codes
  // that are absent when stdout is not a terminal), so "PUT /bucket/key" came out as "ket/key".
  server.middleware[0] = async function requestLogger(ctx, next) {
    const start = Date.now();
    let status;
    try {
      await next();
      status = ctx.status;
    } catch (err) {
      status = err.status || 500;
      throw err;
    } finally {
      if (!opts.silent) {
        process.stdout.write(
          `${ctx.method} ${ctx.originalUrl.split('?')[0]} ${status} ${Date.now() - start}ms\n`,
        );
      }
    }
  };
  // Unauthenticated health endpoint ("_" is not valid in bucket names), before the logger.
  server.middleware.unshift(async function health(ctx, next) {
    if (ctx.path === '/_health' && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
      ctx.status = 200;
      ctx.type = 'text/plain';
      ctx.body = 'ok\n';
      return;
    }
    await next();
  });

  for (const bucket of opts.buckets) {
    if (!BUCKET_NAME.test(bucket) || bucket.includes('..')) usage(`invalid bucket name: ${bucket}`);
    if (!(await server.store.getBucket(bucket))) await server.store.putBucket(bucket);
  }

  const address = await server.run();
  const sockets = new Set();
  server.httpServer.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const host = address.family === 'IPv6' || address.family === 6 ? `[${address.address}]` : address.address;
  process.stdout.write(`s3rver listening on http://${host}:${address.port}\n`);

  let stopping = false;
  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    if (!opts.silent) process.stderr.write(`s3rver: ${signal} received, shutting down\n`);
    server.httpServer.close(() => process.exit(0));
    for (const socket of sockets) socket.destroy(); // keep-alive connections would block close()
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`server.js: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
