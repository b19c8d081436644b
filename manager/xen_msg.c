/*
 * xen_msg.c - the mailboxes between the Xen thread and the loop
 * (xen_msg.h).  The eventfd is raised and drained under the queue's mutex,
 * so it is readable exactly while the queue is not empty: a reader that
 * takes one message at a time, or stops after a batch, loses no wake-up.
 */
#include "manager/xen_msg.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct xen_msg *
xen_msg_new(enum xen_msg_type type, size_t len)
{
	struct xen_msg *msg;

	if (len > SIZE_MAX - sizeof(*msg))
		return NULL;
	if ((msg = calloc(1, sizeof(*msg) + len)) == NULL)
		return NULL;
	msg->type = type;
	msg->len = len;
	return msg;
}

int
xen_mbox_init(struct xen_mbox *mb)
{
	mb->head = mb->tail = NULL;
	if ((mb->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		return -1;
	if ((errno = pthread_mutex_init(&mb->mu, NULL)) != 0) {
		close(mb->efd);
		mb->efd = -1;
		return -1;
	}
	return 0;
}

void
xen_mbox_destroy(struct xen_mbox *mb)
{
	struct xen_msg *msg;

	if (mb->efd < 0)
		return;
	while ((msg = mb->head) != NULL) {
		mb->head = msg->next;
		free(msg);
	}
	mb->tail = NULL;
	close(mb->efd);
	mb->efd = -1;
	pthread_mutex_destroy(&mb->mu);
}

void
xen_mbox_post(struct xen_mbox *mb, struct xen_msg *msg)
{
	uint64_t one = 1;

	msg->next = NULL;
	pthread_mutex_lock(&mb->mu);
	if (mb->tail != NULL)
		mb->tail->next = msg;
	else
		mb->head = msg;
	mb->tail = msg;
	/* Cannot fail short of a counter at 2^64 - 2. */
	(void)!write(mb->efd, &one, sizeof(one));
	pthread_mutex_unlock(&mb->mu);
}

struct xen_msg *
xen_mbox_pop(struct xen_mbox *mb)
{
	struct xen_msg *msg;
	uint64_t n;

	pthread_mutex_lock(&mb->mu);
	if ((msg = mb->head) != NULL && (mb->head = msg->next) == NULL) {
		mb->tail = NULL;
		(void)!read(mb->efd, &n, sizeof(n)); /* empty: no longer readable */
	}
	pthread_mutex_unlock(&mb->mu);
	if (msg != NULL)
		msg->next = NULL;
	return msg;
}

int
xen_mbox_fd(const struct xen_mbox *mb)
{
	return mb->efd;
}
