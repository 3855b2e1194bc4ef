"""sciplat.platform.ec2_console_host_keys: the parser, on console output shaped as an EC2 console shows it."""

from __future__ import annotations

from ansible_collections.sciplat.platform.plugins.modules import ec2_console_host_keys

ED25519 = "AAAAC3NzaC1lZDI1NTE5AAAAIHp0ZW5vbmVfa2V5X2Zvcl90ZXN0c19vbmx5X25vdA"
ECDSA = "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBGZha2Vfa2V5Zm9y"

# What cloud-init's write-ssh-key-fingerprints leaves on the console: fingerprints through logger (tag ec2,
# here with a kernel-style timestamp in front), then the keys, bare.
BOOT = f"""[    4.120000] cloud-init[612]: Cloud-init v. 24.1 running 'modules:config'
[    5.000000] ec2: #############################################################
[    5.000000] ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----
[    5.000000] ec2: 256 SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8 root@ip-10-0-1-5 (ECDSA)
[    5.000000] ec2: 256 SHA256:Q1Wn2x0Ye8Vz6zGn5c4Lb3s7v8Y8mJxYkqGJmR2d5nA root@ip-10-0-1-5 (ED25519)
[    5.000000] ec2: -----END SSH HOST KEY FINGERPRINTS-----
[    5.000000] ec2: #############################################################
-----BEGIN SSH HOST KEY KEYS-----
ecdsa-sha2-nistp256 {ECDSA} root@ip-10-0-1-5
ssh-ed25519 {ED25519} root@ip-10-0-1-5
-----END SSH HOST KEY KEYS-----
"""


def test_keys_and_fingerprints_are_read_without_comments_or_prefixes() -> None:
    keys, fingerprints = ec2_console_host_keys.parse(BOOT)
    assert keys == [f"ecdsa-sha2-nistp256 {ECDSA}", f"ssh-ed25519 {ED25519}"]
    assert fingerprints == [
        "256 SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8 root@ip-10-0-1-5 (ECDSA)",
        "256 SHA256:Q1Wn2x0Ye8Vz6zGn5c4Lb3s7v8Y8mJxYkqGJmR2d5nA root@ip-10-0-1-5 (ED25519)",
    ]


def test_a_console_without_the_block_or_with_a_cut_block_gives_no_keys() -> None:
    assert ec2_console_host_keys.parse("[    0.000000] Linux version 6.1.0\n") == ([], [])
    cut = BOOT.split("-----END SSH HOST KEY KEYS-----")[0]
    assert ec2_console_host_keys.parse(cut)[0] == []


def test_after_a_reboot_the_last_block_counts() -> None:
    other = BOOT.replace(ED25519, ED25519[:-4] + "AAAA")
    keys, _ = ec2_console_host_keys.parse(other + "reboot\n" + BOOT)
    assert f"ssh-ed25519 {ED25519}" in keys
    assert f"ssh-ed25519 {ED25519[:-4]}AAAA" not in keys
