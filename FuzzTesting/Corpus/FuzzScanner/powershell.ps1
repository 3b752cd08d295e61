# PowerShell
$appSecret = '3hD0Q~R1IqfEouHgxzNNAL5.wIScGebc.y-8F5n3' ⟦P:entra⟧
$password = "@Y#NBDRzrZSgqbjG" ⟦P:assign⟧
$clientSecret = $env:CLIENT_SECRET
$appSecret = ''
$appSecret = 'Application secret here'
$token = $response.access_token
