// delete-account: removes an account from the identity graph (docs/adr/0027), with its MEMBER_OF and
// audience edges. Its members' profiles stay.
// params: $space, $groupId
// returns: accounts (count deleted)
OPTIONAL MATCH (a:Account {space: $space, groupId: $groupId})
DETACH DELETE a
RETURN count(a) AS accounts
