#!/bin/sh
export CLIENT_SECRET="Ox91Q~W5gcF_Ha6i.li8GjHEAD6~Wj9KfzjsQGMr" ⟦P:entra⟧
DB_PASSWORD=b9h!ImB!L^K777pz ⟦P:assign⟧
curl -d "grant_type=client_credentials&client_id=abc&client_secret=Nk8cL6j#5IXAAjls&scope=x" https://login.microsoftonline.com/t/oauth2/v2.0/token ⟦P:assign⟧
curl -d "grant_type=client_credentials&client_secret=$APP_SECRET" https://login.microsoftonline.com/t/oauth2/v2.0/token
export CLIENT_SECRET="${CLIENT_SECRET:?}"
PASSWORD=$(cat /run/secrets/password)
AZURE_CLIENT_SECRET=clavis:keyring:defender-daemon/app-secret
echo "AGE-SECRET-KEY-1SHG38HWLLEP2QLUENF6KC584Q54E8VQJSHYECYHM3R3XRJF03M5VHMPED9" ⟦P:age⟧
echo "AGE-SECRET-KEY-PQ-1R6UGJLRG2764JNSSE0N7E822YDLWU4UMGV09T4950HSVP6C6DC34RL3HGD" ⟦P:age⟧
