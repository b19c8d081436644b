/*
 * ctl_proto.h - the vtpmctl <-> vtpm_managerd control protocol on
 * <run-dir>/vtpm_managerd.sock (AF_UNIX SOCK_SEQPACKET, root only, checked
 * with SO_PEERCRED).  Packets use util/chan.h framing (type | len | payload);
 * one request, one reply.
 *
 * Requests (type, payload):
 *   CTL_CREATE    u8 tpm_version (2 or 1) | u8 has_uuid | uuid[16]
 *                 [| u32 owner_uid | u32 owner_gid  (CTL_NO_OWNER: none)
 *                 [| u8 flags (CTL_CREATE_NO_EK_CERT) | u8 pcr_banks (1 sha1,
 *                 2 sha256, 4 sha384, 8 sha512; 0 = libtpms' default)]];
 *                 the 18- and 26-byte forms make EKs with certificates
 *   CTL_LIST      (empty), or u32 after: records of the vTPMs whose instance
 *                 is above `after`, in instance order, as many as fit
 *   CTL_SHOW      uuid[16]
 *   CTL_STOP      uuid[16]
 *   CTL_DELETE    uuid[16] [| u8 force]  (without force: refused while a
 *                 guest is attached)
 *   CTL_STATUS    (empty); the reply's msg holds "key: value" lines
 *   CTL_SET_OWNER uuid[16] | u32 owner_uid | u32 owner_gid
 *   CTL_CA        (empty); data: the vTPM CA certificate (PEM)
 *   CTL_EK        uuid[16] | u8 kind (0 default, 1 RSA-2048, 2 ECC P-256,
 *                 3 ECC P-384) | u8 what (0 public key, 1 certificate);
 *                 data: PEM
 *   CTL_TRANSPORT_KEY (empty); msg: fingerprint; data: public key (PEM)
 *   CTL_EXPORT    uuid[16] | u8 flags (0) | destination public key (PEM);
 *                 data: the export file (crypto/transport.h)
 *   CTL_IMPORT    u8 has_from | from_fp[32] | export file; one record
 *   CTL_IMPORT_SWTPM uuid[16] | u8 tpm_version | u8 count | count x
 *                 { u8 blob (1 permall, 2 volatilestate, 3 savestate) |
 *                 u32 len | libtpms blob }; one record
 * (manager/provision.c serves CA .. IMPORT_SWTPM and the manufacturing
 * part of CREATE.)
 * Reply CTL_REPLY:
 *   u32 status (0 ok, 1 error) | u16 msglen | msg (one line, no NUL) |
 *   u32 count | count x record [| u8 more, for CTL_LIST: 1 when vTPMs
 *   above the last record's instance remain]
 *   record: uuid[16] | u32 instance | u8 tpm_version | u8 state |
 *           u32 pid (0 when none) | u32 owner_uid | u32 owner_gid |
 *           u16 reasonlen | reason
 *   then, only in replies that carry data: u32 datalen | data
 */
#ifndef VTPM_MANAGER_CTL_PROTO_H
#define VTPM_MANAGER_CTL_PROTO_H

#define CTL_SOCKET_NAME "vtpm_managerd.sock"
#define CTL_MAX_REASON 512

enum ctl_type {
	CTL_CREATE = 1,
	CTL_LIST = 2,
	CTL_SHOW = 3,
	CTL_STOP = 4,
	CTL_DELETE = 5,
	CTL_STATUS = 6,
	CTL_SET_OWNER = 7,
	CTL_CA = 8,
	CTL_EK = 9,
	CTL_TRANSPORT_KEY = 10,
	CTL_EXPORT = 11,
	CTL_IMPORT = 12,
	CTL_IMPORT_SWTPM = 13,
	CTL_REPLY = 100,
};

enum ctl_state {
	CTL_ST_STOPPED = 0,
	CTL_ST_STARTING = 1,
	CTL_ST_RUNNING = 2,
	CTL_ST_FAILED = 3,
	CTL_ST_DEGRADED = 4, /* a save failed, none succeeded since (reason says why) */
};

#define CTL_NO_OWNER 0xffffffffu

#define CTL_CREATE_NO_EK_CERT 0x01
#define CTL_EK_DEFAULT 0
#define CTL_EK_RSA 1
#define CTL_EK_ECC 2
#define CTL_EK_ECC384 3

#endif
