# Python: the same formats written other ways (synthetic values)
os.environ["GITHUB_TOKEN"] = "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" ⟦P:gh⟧
AWS = {"key": "AKIAL4F53IUEFIGPOIAU", "region": "eu-west-1"} ⟦P:aws⟧
requests.post(url, headers={"Authorization": "Bearer " + "xoxp-99706628480-97871027344-4366480346197-e0a0887bee1afbfa45289e0082c35845"}) ⟦P:slack⟧
run(["docker", "login", "-u", "ci", "--password", "lpwI+Kak+99neE3"]) ⟦P:cmd⟧
token = subprocess.check_output(["az", "keyvault", "secret", "show", "--vault-name", "kv", "--name", "gh", "--query", "value", "-o", "tsv"])
