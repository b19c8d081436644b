/*
 * xen_msg.h - the messages between the Xen thread (xen_bus.c) and the
 * manager's loop thread (xen_backend.c), and the mailboxes that carry them.
 *
 * The two threads share nothing else: the Xen thread owns xenstore, the
 * grant mappings and the event channels; the loop owns every struct vtpm.
 * What one needs from the other travels as a message, in order, through the
 * other's mailbox: a mutex-guarded queue plus an eventfd that is readable
 * exactly while the queue is not empty (the reader polls it with its other
 * fds, so a message is noticed at the reader's next turn).
 *
 * Owns: the queues and their eventfds.  Trusts: its callers (both ends are
 * the manager's own code; what a guest wrote is checked before it is put
 * in a message, by xen_ring.c and xen_bus.c).
 *
 * Memory: the Xen thread posts at most one command per connected device
 * and one claim request per device directory, and the loop answers each
 * once, so the queues are bounded by the number of devices.
 */
#ifndef VTPM_MANAGER_XEN_MSG_H
#define VTPM_MANAGER_XEN_MSG_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "util/uuid.h"

#define XEN_MSG_TEXT 512

enum xen_msg_type {
	/* Xen thread -> loop (xen_backend.c). */
	XM_STARTED,  /* start-up done: arg 1, or arg 0 and text says why not; always first */
	XM_OPEN,     /* device dev asks for vTPM uuid: arg 1 for a new device; text: its path */
	XM_RELEASE,  /* device dev lets go of its vTPM (the guest's machine is gone) */
	XM_COMMAND,  /* a TPM command of device dev, connection conn: data, locality arg */
	XM_CANCEL,   /* the guest cancelled device dev's command */
	/* loop -> Xen thread (xen_bus.c). */
	XM_OPENED,   /* device dev holds its vTPM now: arg is its TPM version (1 or 2) */
	XM_REFUSED,  /* device dev may not have its vTPM: text says why */
	XM_RESPONSE, /* the response for connection conn: data */
	XM_DECLINED, /* connection conn's command was not taken: the manager is stopping */
	XM_QUIT,     /* the Xen thread ends (xen_backend_close) */
};

struct xen_msg {
	struct xen_msg *next;
	enum xen_msg_type type;
	uint64_t dev;  /* the Xen thread's device id (never reused) */
	uint64_t conn; /* a connection (page + port) of that device (never reused) */
	uint8_t uuid[UUID_LEN];
	int arg;
	char text[XEN_MSG_TEXT];
	size_t len;
	uint8_t data[]; /* len bytes: a TPM command or response */
};

struct xen_mbox {
	pthread_mutex_t mu;
	struct xen_msg *head, *tail;
	int efd;
};

/* A zeroed message with room for len data bytes; NULL when out of memory. */
struct xen_msg *xen_msg_new(enum xen_msg_type type, size_t len);

/* 0, or -1 with errno (no eventfd). */
int xen_mbox_init(struct xen_mbox *mb);
/* Frees messages still queued; closes the eventfd. */
void xen_mbox_destroy(struct xen_mbox *mb);
/* Appends msg (which the mailbox owns from now on); any thread. */
void xen_mbox_post(struct xen_mbox *mb, struct xen_msg *msg);
/* The oldest message (the caller frees it), or NULL when none is queued. */
struct xen_msg *xen_mbox_pop(struct xen_mbox *mb);
/* Readable while a message is queued. */
int xen_mbox_fd(const struct xen_mbox *mb);

#endif
