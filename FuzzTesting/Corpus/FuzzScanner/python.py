# Python
client_secret = '03n0Q~GBL.EPH1qhT61.qt-c4xatws8phP9nhFyJ' ⟦P:entra⟧
password = "fm#5di4P#%zJ5%9#" ⟦P:assign⟧
config = {"client_secret": "F^Hz5r1pY4OjE2jB"} ⟦P:assign⟧
api_key = os.environ["API_KEY"]
token = get_token()
client_secret = ''
client_secret = "your-client-secret-here"
password = None
app_id = "934b484e-aaaa-bbbb-cccc-73cf575dcad6"
key = "TOlUcR64cXQLioDnkHIfxIq2HZt/PlJhx2jIclHkCiH=" ⟦P:legacy⟧
secret_name = "app-secret"
