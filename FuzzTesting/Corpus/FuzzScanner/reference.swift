let reference = "keyring:defender-daemon/app-secret"
