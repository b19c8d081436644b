/*
 * fuzz_mf_resp.c - manager/manufacture.c: the parsers of what a private
 * vtpmd returns while the manager manufactures or inspects a vTPM
 * (mf_parse_createprimary, mf_parse_pubek12, mf_tcg12_unwrap).  A vtpmd
 * is untrusted: these responses are hostile input.
 *
 * Input: u8 sel | response.  sel % 4: 0-2 CreatePrimary for the RSA-2048,
 * ECC P-256 and P-384 EKs, 3 the TPM 1.2 EK (nonce: 20 bytes of sel).
 * Also every input goes through mf_tcg12_unwrap.  Invariants: success
 * yields a key; the unwrapped certificate lies inside the input.
 */
#include "tests/fuzz/common.h"
#include "manager/manufacture.h"

#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t sel, *f, nonce[20];
	EVP_PKEY *k = NULL;
	const uint8_t *der;
	size_t len, dlen;
	uint32_t h = 0;
	int r;

	if (size < 1)
		return 0;
	sel = data[0];
	len = size - 1;
	f = fz_dup(data + 1, len);
	if (sel % 4 < 3)
		r = mf_parse_createprimary((enum mf_ek)(sel % 4), f, len, &h, &k);
	else {
		memset(nonce, sel, sizeof(nonce));
		r = mf_parse_pubek12(f, len, nonce, &k);
	}
	FZ_CHECK((r == 0) == (k != NULL), "result %d with key %p", r, (void *)k);
	FZ_CHECK(r == 0 || r == VERR_FORMAT, "unexpected error %d", r);
	EVP_PKEY_free(k);
	if (mf_tcg12_unwrap(f, len, &der, &dlen) == 0)
		FZ_CHECK(der >= f && der + dlen <= f + len && dlen + 7 == len, "unwrapped cert outside");
	free(f);
	return 0;
}
